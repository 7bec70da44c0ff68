import { lang, setLang, t, type Lang } from '../i18n';

export function LangSwitch(props: { onChange(): void }) {
  return (
    <label class="lang">
      <span class="sr-only">{t('language')}</span>
      <select
        value={lang()}
        onChange={(e) => {
          setLang((e.target as HTMLSelectElement).value as Lang);
          props.onChange();
        }}
      >
        <option value="pl" lang="pl">
          Polski
        </option>
        <option value="en" lang="en">
          English
        </option>
      </select>
    </label>
  );
}
