import { RichText } from '../../components/RichText.tsx';
import { familyName } from './labels.ts';
import type { RunPreset } from './types.ts';

interface Props {
  presets: RunPreset[];
  selected: string | null;
  onChoose: (preset: RunPreset) => void;
}

/** Preset cards grouped by family, smallest GPU first; choosing one fills the form. */
export function PresetPicker({ presets, selected, onChoose }: Props) {
  const families: string[] = [];
  for (const preset of presets) if (!families.includes(preset.family)) families.push(preset.family);
  return (
    <div className="presets" data-testid="train-presets">
      {families.map((family) => (
        <div key={family} className="presets__family" role="group" aria-labelledby={`preset-family-${family}`}>
          <h3 className="presets__family-title" id={`preset-family-${family}`}>
            {familyName(family)}
          </h3>
          <ul className="presets__list">
            {presets
              .filter((p) => p.family === family)
              .sort((a, b) => a.vramGb - b.vramGb || a.title.localeCompare(b.title))
              .map((preset) => (
                <li key={preset.name}>
                  <button
                    type="button"
                    className="preset"
                    aria-pressed={selected === preset.name}
                    title={preset.description}
                    onClick={() => onChoose(preset)}
                    data-testid={`preset-${preset.name}`}
                  >
                    <span className="badge badge--info preset__vram">{`${preset.vramGb} GB VRAM`}</span>
                    <span className="preset__title">{preset.title}</span>
                    <span className="preset__description">
                      <RichText text={preset.description} />
                    </span>
                  </button>
                </li>
              ))}
          </ul>
        </div>
      ))}
    </div>
  );
}
