#!/usr/bin/env python3
"""Generates the mail of tests/bench/email: COUNT messages to one support address, as a maildir
(DIR/new/<n>.bench, DIR/cur, DIR/tmp) for `doveadm import`, and prints what the daemon should
make of them as shell assignments (eval):

  ~60% plain UTF-8 text from ~500 distinct senders
  ~15% ISO-8859-2 quoted-printable Polish
  ~10% multipart/alternative (text + HTML) with a small base64 attachment
   ~5% replies (In-Reply-To, References) to earlier mail of the same sender
   ~5% out-of-office replies (Auto-Submitted: auto-replied, null return path)
   ~5% list mail (List-Id, Precedence: list)

Every message has a unique Message-ID, is addressed to the mailbox (To:) and carries the
Return-Path a delivering MTA would have added. The mix is fixed by the seed, so two runs with
the same COUNT get the same mail.
"""
import argparse
import base64
import email.utils
import os
import random
import sys
import time

FIRST = ["Anna", "Piotr", "Katarzyna", "Tomasz", "Małgorzata", "Paweł", "Agnieszka", "Michał", "Zofia",
         "Łukasz", "Ewa", "Krzysztof", "Joanna", "Grzegorz", "Barbara", "Jędrzej", "Magdalena", "Wojciech"]
LAST = ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
        "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk"]
DOMAINS = ["example.pl", "poczta.example.com", "mail.example.net", "firma.example.org", "wp.example.pl"]
SUBJECTS = ["Pytanie o zamówienie", "Zwrot towaru", "Faktura za październik", "Zmiana adresu dostawy",
            "Reklamacja przesyłki", "Status zamówienia", "Prośba o kontakt", "Gwarancja", "Płatność kartą",
            "Rabat dla stałych klientów"]
BODIES = [
    "Dzień dobry,\n\nzamówiłem w zeszłym tygodniu ekspres do kawy i do dziś nie dostałem informacji o wysyłce.\n"
    "Czy mogą Państwo sprawdzić, co się dzieje z zamówieniem?\n\nPozdrawiam\n",
    "Witam,\n\nchciałabym zwrócić buty, które okazały się za małe. Jak mam to zrobić?\n"
    "Paragon mam, pudełko też.\n\nDziękuję i pozdrawiam\n",
    "Dzień dobry,\n\nproszę o wystawienie faktury na firmę, dane poniżej:\nŻółta Łódź Sp. z o.o.\n"
    "ul. Źródlana 5, 00-950 Warszawa\nNIP 000-000-00-00\n\nZ poważaniem\n",
    "Hej,\n\nczy da się jeszcze zmienić adres dostawy? Wyjeżdżam w piątek i nikt nie odbierze paczki.\n\nDzięki!\n",
    "Dzień dobry,\n\nprzesyłka dotarła uszkodzona: pęknięta obudowa, brak jednej śrubki.\n"
    "W załączeniu zdjęcia. Proszę o informację, co dalej.\n\nPozdrawiam serdecznie\n",
]
LISTS = [("Nowości Sklepu", "nowosci", "newsletter.example.com"), ("Forum dostawców", "dostawcy", "lists.example.org"),
         ("Aktualności branżowe", "branza", "lists.example.net"), ("Grupa zakupowa", "zakupy", "groups.example.com"),
         ("Ogłoszenia", "ogloszenia", "lists.example.pl")]
# A small attachment: a PNG signature and random bytes, 600 bytes.
_blob = random.Random(7)
ATTACHMENT = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + bytes(_blob.randrange(256) for _ in range(592))).decode()
ATTACHMENT = ATTACHMENT.replace("\n", "\r\n")


def qp_latin2(text):
    """ISO-8859-2 quoted-printable with soft line breaks, as an old Polish client writes it."""
    out_lines = []
    for line in text.split("\n"):
        encoded = ""
        for ch in line.encode("iso-8859-2"):
            c = chr(ch)
            if ch == 0x3D or ch > 0x7E or (ch < 0x20 and c != "\t"):
                encoded += "=%02X" % ch
            else:
                encoded += c
        if encoded.endswith(" ") or encoded.endswith("\t"):
            encoded = encoded[:-1] + "=%02X" % ord(encoded[-1])
        while len(encoded) > 75:
            cut = 75
            while encoded[cut - 1] == "=" or encoded[cut - 2] == "=":  # never split an =XX
                cut -= 1
            out_lines.append(encoded[:cut] + "=")
            encoded = encoded[cut:]
        out_lines.append(encoded)
    return "\r\n".join(out_lines)


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def header_word(text):
    """An RFC 2047 encoded word where the text is not ASCII."""
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True, help="maildir to write (created)")
    ap.add_argument("--to", required=True, help="the mailbox's address")
    ap.add_argument("--senders", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2027)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)

    senders = []
    for i in range(args.senders):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        local = "klient%03d" % i
        senders.append((first + " " + last, "%s@%s" % (local, rnd.choice(DOMAINS))))
    run = "%x" % rnd.getrandbits(40)
    start = int(time.time()) - args.count  # one message a second, ending now
    counts = {"plain": 0, "latin2": 0, "multipart": 0, "reply": 0, "ooo": 0, "list": 0}
    sent_by = {}  # sender address -> Message-IDs of its earlier mail (for replies)
    new_dir = os.path.join(args.out, "new")
    for n in range(args.count):
        r = rnd.random()
        kind = ("plain" if r < 0.60 else "latin2" if r < 0.75 else "multipart" if r < 0.85 else
                "reply" if r < 0.90 else "ooo" if r < 0.95 else "list")
        name, address = rnd.choice(senders)
        if kind == "reply" and not sent_by.get(address):
            kind = "plain"  # nothing to reply to yet
        msgid = "bench-%s-%06d@%s" % (run, n, address.split("@")[1])
        date = email.utils.formatdate(start + n, usegmt=True)
        subject = rnd.choice(SUBJECTS)
        body = rnd.choice(BODIES) + "\n-- \n" + name + "\n"
        return_path = address
        h = []  # headers in the order a client writes them
        extra = []
        if kind == "plain":
            content = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
                       "Content-Transfer-Encoding: 8bit"]
            payload = crlf(body)
        elif kind == "latin2":
            subject = "=?ISO-8859-2?Q?" + "".join(
                "=%02X" % b if b > 0x7E or b in (0x3D, 0x3F, 0x5F) else ("_" if b == 0x20 else chr(b))
                for b in subject.encode("iso-8859-2")) + "?="
            content = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=ISO-8859-2",
                       "Content-Transfer-Encoding: quoted-printable"]
            payload = qp_latin2(body)
        elif kind == "multipart":
            boundary = "=_bench_%s_%d" % (run, n)
            html = "<html><body>" + "".join("<p>%s</p>" % line for line in body.split("\n") if line) + "</body></html>"
            content = ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="%s"' % boundary]
            payload = crlf(
                "This is a multi-part message in MIME format.\n"
                "--%(b)s\nContent-Type: multipart/alternative; boundary=\"%(b)s-alt\"\n\n"
                "--%(b)s-alt\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n%(text)s\n"
                "--%(b)s-alt\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n%(html)s\n"
                "--%(b)s-alt--\n\n"
                "--%(b)s\nContent-Type: image/png; name=\"zdjecie-%(n)d.png\"\n"
                "Content-Disposition: attachment; filename=\"zdjecie-%(n)d.png\"\n"
                "Content-Transfer-Encoding: base64\n\n" % {"b": boundary, "text": body, "html": html, "n": n}
            ) + ATTACHMENT + crlf("\n--%s--\n" % boundary)
        elif kind == "reply":
            earlier = sent_by[address]
            parent = rnd.choice(earlier)
            subject = "Re: " + subject
            extra = ["In-Reply-To: <%s>" % parent,
                     "References: " + " ".join("<%s>" % m for m in earlier[-3:])]
            content = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
                       "Content-Transfer-Encoding: 8bit"]
            payload = crlf("Dzień dobry, dopisuję jeszcze numer zamówienia: %d.\n\n> %s\n" % (
                rnd.randrange(100000, 999999), body.split("\n")[0]))
        elif kind == "ooo":
            subject = "Automatyczna odpowiedź: " + subject
            return_path = ""  # RFC 3834: auto-replies go out with the null return path
            extra = ["Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All"]
            content = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
                       "Content-Transfer-Encoding: 8bit"]
            payload = crlf("Jestem na urlopie do poniedziałku, odpowiem po powrocie.\n\n" + name + "\n")
        else:  # list
            lname, lid, ldomain = rnd.choice(LISTS)
            name, address = lname, "%s@%s" % (lid, ldomain)
            return_path = "%s-bounces@%s" % (lid, ldomain)
            msgid = "bench-%s-%06d@%s" % (run, n, ldomain)
            extra = ["List-Id: %s <%s.%s>" % (header_word(lname), lid, ldomain),
                     "List-Unsubscribe: <mailto:%s-leave@%s>" % (lid, ldomain), "Precedence: list"]
            content = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
                       "Content-Transfer-Encoding: 8bit"]
            payload = crlf("Nowy wątek na liście %s: %s\n\nTreść wiadomości listy numer %d.\n" % (lname, subject, n))
        counts[kind] += 1
        if kind in ("plain", "latin2", "multipart", "reply"):
            sent_by.setdefault(address, []).append(msgid)
        h.append("Return-Path: <%s>" % return_path)
        h.append("From: %s <%s>" % (header_word(name), address))
        h.append("To: %s <%s>" % (header_word("Obsługa klienta"), args.to))
        h.append("Subject: %s" % (subject if kind == "latin2" else header_word(subject)))
        h.append("Date: %s" % date)
        h.append("Message-ID: <%s>" % msgid)
        h.extend(extra)
        h.extend(content)
        raw = ("\r\n".join(h) + "\r\n\r\n").encode() + payload.encode(
            "ascii" if kind == "latin2" else "utf-8") + (b"" if payload.endswith("\r\n") else b"\r\n")
        # Maildir names: unique, sorting in generation order so that UIDs follow it.
        with open(os.path.join(new_dir, "%d.%07d.bench" % (start, n)), "wb") as f:
            f.write(raw)
    for k, v in counts.items():
        print("gen_%s=%d" % (k, v))
    print("gen_senders=%d" % len({s for s in sent_by}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
