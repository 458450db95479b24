/**
 * A small generic form over the run config's JSON Schema: objects become fieldsets (their description as help),
 * enums selects, booleans checkboxes, numbers bounded text inputs, arrays add/remove rows, unions a select of
 * their discriminator. Library ids and dataset names become pickers. Every label, description, value and issue
 * is rendered as text.
 */
import { useState, type ReactNode } from 'react';
import { RichText } from '../../components/RichText.tsx';
import { useForm } from './formContext.ts';
import { deadFieldSection, LIBRARY_FIELDS, OPEN_SECTIONS, OPTION_LABELS, familyName } from './labels.ts';
import {
  constChoices,
  discriminatorChoices,
  discriminatorOf,
  fieldId,
  formatPath,
  getAt,
  initialValue,
  isPlainObject,
  labelFor,
  objectVariants,
  variantFor,
} from './schema.ts';
import { withDefaults } from './defaults.ts';
import type { Json, JsonSchemaNode, Path, RunIssue } from './types.ts';

interface FieldProps {
  node: JsonSchemaNode;
  path: Path;
  required: boolean;
  /** 0 for the run's own fields, 1 for a top-level section's, … */
  depth: number;
}

function lastKey(path: Path): string | number {
  return path[path.length - 1] ?? '';
}

/** `VAE` stays `VAE`, `Flow` becomes `flow`: for labels inside a sentence. */
function inSentence(label: string): string {
  return /^[A-Z][A-Z0-9-]/.test(label) ? label : label.charAt(0).toLowerCase() + label.slice(1);
}

/** `Datasets` → `Dataset`, for one entry of a list. */
function singular(label: string): string {
  return label.endsWith('s') && !label.endsWith('ss') ? label.slice(0, -1) : label;
}

function describedBy(id: string, description: string | undefined, issues: RunIssue[] | undefined): string | undefined {
  const ids = [description ? `${id}-help` : null, issues && issues.length > 0 ? `${id}-issues` : null].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

const SEVERITY_LABEL = { error: 'Error', warning: 'Warning', info: 'Note' } as const;

export function IssueLines({ issues, id }: { issues: RunIssue[] | undefined; id?: string }) {
  if (!issues || issues.length === 0) return null;
  return (
    <ul className="tf-issues" id={id}>
      {issues.map((issue, index) => (
        <li key={index} className={`tf-issue tf-issue--${issue.severity}`}>
          <span className={`badge badge--${issue.severity === 'error' ? 'failed' : issue.severity === 'warning' ? 'warn' : 'info'}`}>
            {SEVERITY_LABEL[issue.severity] ?? issue.severity}
          </span>{' '}
          <RichText text={issue.message} />
          {issue.hint ? (
            <span className="tf-issue__hint">
              {' '}
              <RichText text={issue.hint} />
            </span>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function rangeText(node: JsonSchemaNode): string | null {
  const min = node.minimum ?? node.exclusiveMinimum;
  const max = node.maximum ?? node.exclusiveMaximum;
  const step = node.multipleOf ? `, multiple of ${node.multipleOf}` : '';
  if (min !== undefined && max !== undefined) return `${min} – ${max}${step}`;
  if (min !== undefined) return `≥ ${min}${step}`;
  if (max !== undefined) return `≤ ${max}${step}`;
  return step ? step.slice(2) : null;
}

/** One labelled control with its help text and issues. */
function FieldShell({
  path,
  node,
  required,
  children,
  label,
  aside,
  labelFor: htmlFor = true,
}: {
  path: Path;
  node: JsonSchemaNode;
  required: boolean;
  children: ReactNode;
  label?: string;
  aside?: ReactNode;
  labelFor?: boolean;
}) {
  const { issues } = useForm();
  const dotted = formatPath(path);
  const id = fieldId(dotted);
  const own = issues.get(dotted);
  const worst = own?.some((i) => i.severity === 'error') ? 'error' : own?.some((i) => i.severity === 'warning') ? 'warning' : null;
  return (
    <div className={`tf-field${worst ? ` tf-field--${worst}` : ''}`} data-testid={`field-${dotted}`} data-field-path={dotted}>
      {htmlFor ? (
        <label className="tf-field__label" htmlFor={id}>
          {label ?? labelFor(lastKey(path))}
          {required ? <span className="tf-required"> required</span> : null}
        </label>
      ) : (
        <span className="tf-field__label" id={`${id}-label`}>
          {label ?? labelFor(lastKey(path))}
          {required ? <span className="tf-required"> required</span> : null}
        </span>
      )}
      <div className="tf-field__control">
        {children}
        {aside}
      </div>
      {node.description ? (
        <p className="tf-help" id={`${id}-help`}>
          <RichText text={node.description} />
        </p>
      ) : null}
      <IssueLines issues={own} id={`${id}-issues`} />
    </div>
  );
}

export function SchemaField(props: FieldProps) {
  const { node } = props;
  if (objectVariants(node)) return <UnionField {...props} />;
  const consts = constChoices(node);
  if (consts) return <ChoiceField {...props} choices={consts} />;
  if (node.const !== undefined) return <ConstField {...props} />;
  if (node.type === 'object' && node.properties) return <ObjectField {...props} />;
  if (node.type === 'array') {
    if (node.prefixItems) return <TupleField {...props} />;
    const item = node.items === false ? undefined : node.items;
    if (item?.enum) return <MultiChoiceField {...props} choices={item.enum} />;
    if (item && (item.type === 'object' || objectVariants(item))) return <ObjectListField {...props} item={item} />;
    if (item) return <PrimitiveListField {...props} item={item} />;
  }
  if (node.enum) return <ChoiceField {...props} choices={node.enum} />;
  if (node.type === 'boolean') return <BooleanField {...props} />;
  if (node.type === 'integer' || node.type === 'number') return <NumberField {...props} />;
  if (node.type === 'string') return <StringField {...props} />;
  return (
    <FieldShell path={props.path} node={node} required={props.required}>
      <span className="muted">This field cannot be edited here.</span>
    </FieldShell>
  );
}

/* ---------- scalars ---------- */

function NumberInput({
  id,
  node,
  value,
  onChange,
  describedBy: described,
  label,
  placeholder,
}: {
  id?: string;
  node: JsonSchemaNode;
  value: Json;
  onChange: (value: number | undefined) => void;
  describedBy?: string;
  label?: string;
  placeholder?: string;
}) {
  const shown = typeof value === 'number' ? String(value) : '';
  const [draft, setDraft] = useState(shown);
  const [last, setLast] = useState<Json>(value);
  // A value changed elsewhere (a preset, a reset) replaces the draft; one typed here keeps the typing as it is.
  if (value !== last) {
    setLast(value);
    if (Number(draft.trim()) !== value || draft.trim() === '') setDraft(shown);
  }
  const invalid = draft.trim() !== '' && !Number.isFinite(Number(draft.trim()));
  return (
    <input
      id={id}
      className="input input--number tf-number"
      type="text"
      inputMode={node.type === 'integer' ? 'numeric' : 'decimal'}
      autoComplete="off"
      spellCheck={false}
      value={draft}
      placeholder={placeholder}
      aria-label={label}
      aria-describedby={described}
      aria-invalid={invalid || undefined}
      onChange={(event) => {
        const text = event.target.value;
        setDraft(text);
        const trimmed = text.trim();
        if (trimmed === '') onChange(undefined);
        else if (Number.isFinite(Number(trimmed))) onChange(Number(trimmed));
      }}
    />
  );
}

function NumberField({ node, path, required }: FieldProps) {
  const { config, set, issues } = useForm();
  const dotted = formatPath(path);
  const id = fieldId(dotted);
  const range = rangeText(node);
  return (
    <FieldShell path={path} node={node} required={required} aside={range ? <span className="tf-range">{range}</span> : null}>
      <NumberInput
        id={id}
        node={node}
        value={getAt(config, path)}
        onChange={(value) => set(path, value)}
        describedBy={describedBy(id, node.description, issues.get(dotted))}
        placeholder={node.default !== undefined ? String(node.default) : required ? '' : 'unset'}
      />
    </FieldShell>
  );
}

function optionLabel(key: string | number, value: string | number | boolean | null): string {
  const map = typeof key === 'string' ? OPTION_LABELS[key] : undefined;
  return map?.[String(value)] ?? String(value);
}

function ChoiceField({ node, path, required, choices }: FieldProps & { choices: Array<string | number | boolean | null> }) {
  const { config, set, issues } = useForm();
  const dotted = formatPath(path);
  const id = fieldId(dotted);
  const value = getAt(config, path);
  const index = choices.findIndex((c) => c === value);
  const unsettable = !required && node.default === undefined;
  return (
    <FieldShell path={path} node={node} required={required}>
      <select
        id={id}
        className="input select"
        value={index < 0 ? '' : String(index)}
        aria-describedby={describedBy(id, node.description, issues.get(dotted))}
        onChange={(event) => set(path, event.target.value === '' ? undefined : (choices[Number(event.target.value)] ?? undefined))}
      >
        {unsettable || index < 0 ? <option value="">{unsettable ? '(unset)' : 'Choose…'}</option> : null}
        {choices.map((choice, i) => (
          <option key={i} value={String(i)}>
            {optionLabel(lastKey(path), choice)}
          </option>
        ))}
      </select>
    </FieldShell>
  );
}

function ConstField({ node, path, required }: FieldProps) {
  return (
    <FieldShell path={path} node={node} required={required} labelFor={false}>
      <code>{String(node.const)}</code> <span className="muted">(fixed)</span>
    </FieldShell>
  );
}

function BooleanField({ node, path, required }: FieldProps) {
  const { config, set, issues } = useForm();
  const dotted = formatPath(path);
  const id = fieldId(dotted);
  const value = getAt(config, path);
  if (!required && node.default === undefined) {
    // Unset means "keep what the dataset or engine says": a three-way choice.
    return (
      <FieldShell path={path} node={node} required={required}>
        <select
          id={id}
          className="input select select--narrow"
          value={value === true ? 'on' : value === false ? 'off' : ''}
          aria-describedby={describedBy(id, node.description, issues.get(dotted))}
          onChange={(event) => set(path, event.target.value === '' ? undefined : event.target.value === 'on')}
        >
          <option value="">(unset)</option>
          <option value="on">On</option>
          <option value="off">Off</option>
        </select>
      </FieldShell>
    );
  }
  const checked = typeof value === 'boolean' ? value : node.default === true;
  return (
    <FieldShell path={path} node={node} required={required}>
      <input
        id={id}
        type="checkbox"
        className="tf-checkbox"
        checked={checked}
        aria-describedby={describedBy(id, node.description, issues.get(dotted))}
        onChange={(event) => set(path, event.target.checked)}
      />
    </FieldShell>
  );
}

function StringField(props: FieldProps) {
  const { path, node } = props;
  const key = lastKey(path);
  if (typeof key === 'string' && LIBRARY_FIELDS[key] && (node.maxLength ?? 0) <= 100) return <LibraryField {...props} />;
  if (key === 'dataset') return <DatasetField {...props} />;
  if (key === 'name' && path[path.length - 3] === 'subsets') return <SubsetField {...props} />;
  return <TextField {...props} />;
}

function TextField({ node, path, required }: FieldProps) {
  const { config, set, issues } = useForm();
  const dotted = formatPath(path);
  const id = fieldId(dotted);
  const value = getAt(config, path);
  return (
    <FieldShell path={path} node={node} required={required}>
      <input
        id={id}
        className={`input tf-text${(node.maxLength ?? 1000) > 100 ? ' tf-text--long' : ''}`}
        type="text"
        autoComplete="off"
        spellCheck={false}
        maxLength={node.maxLength}
        value={typeof value === 'string' ? value : ''}
        placeholder={typeof node.default === 'string' ? node.default : required ? '' : 'unset'}
        aria-describedby={describedBy(id, node.description, issues.get(dotted))}
        onChange={(event) => set(path, event.target.value === '' && !required ? undefined : event.target.value)}
      />
    </FieldShell>
  );
}

interface PickOption {
  value: string;
  label: string;
}

/** A select over library entries; the current value stays selectable even when the library lacks it. */
function PickerShell({
  props,
  groups,
  loading,
  emptyNote,
}: {
  props: FieldProps;
  groups: Array<{ label: string | null; options: PickOption[] }>;
  loading: boolean;
  emptyNote: string;
}) {
  const { node, path, required } = props;
  const { config, set, issues } = useForm();
  const dotted = formatPath(path);
  const id = fieldId(dotted);
  const value = getAt(config, path);
  const current = typeof value === 'string' ? value : '';
  const known = groups.some((g) => g.options.some((o) => o.value === current));
  const total = groups.reduce((n, g) => n + g.options.length, 0);
  return (
    <FieldShell
      path={path}
      node={node}
      required={required}
      aside={!loading && total === 0 ? <span className="tf-range">{emptyNote}</span> : null}
    >
      <select
        id={id}
        className="input select tf-picker"
        value={current}
        aria-describedby={describedBy(id, node.description, issues.get(dotted))}
        onChange={(event) => set(path, event.target.value === '' ? (required ? '' : undefined) : event.target.value)}
      >
        <option value="">{loading ? 'Loading…' : required ? 'Choose…' : '(none)'}</option>
        {current !== '' && !known ? <option value={current}>{`${current} (not in the library)`}</option> : null}
        {groups.map((group, gi) =>
          group.options.length === 0 ? null : group.label === null ? (
            group.options.map((o) => (
              <option key={`${gi}-${o.value}`} value={o.value}>
                {o.label}
              </option>
            ))
          ) : (
            <optgroup key={gi} label={group.label}>
              {group.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </optgroup>
          ),
        )}
      </select>
    </FieldShell>
  );
}

function LibraryField(props: FieldProps) {
  const { config, models } = useForm();
  const spec = LIBRARY_FIELDS[lastKey(props.path) as string];
  if (!spec) return <TextField {...props} />;
  const family = config.kind === 'fluxflow' ? 'fluxflow' : typeof config.family === 'string' ? config.family : null;
  const fitting = (models ?? []).filter((m) => spec.kinds === null || spec.kinds.includes(m.kind));
  const toOption = (m: (typeof fitting)[number]): PickOption => ({
    value: m.id,
    label: `${m.name} · ${m.kind} · ${familyName(m.family)}`,
  });
  let groups: Array<{ label: string | null; options: PickOption[] }>;
  if (spec.byFamily && family) {
    const same = fitting.filter((m) => m.family === family);
    const other = spec.kinds === null ? [] : fitting.filter((m) => m.family !== family);
    groups = [
      { label: `${familyName(family)}`, options: same.map(toOption) },
      { label: 'Other families', options: other.map(toOption) },
    ];
  } else {
    groups = [{ label: null, options: fitting.map(toOption) }];
  }
  return <PickerShell props={props} groups={groups} loading={models === undefined} emptyNote={`No ${spec.what} in the library yet.`} />;
}

function DatasetField(props: FieldProps) {
  const { datasets } = useForm();
  const options = (datasets ?? []).map((d) => ({ value: d.name, label: `${d.name} · ${d.imageCount} images` }));
  return <PickerShell props={props} groups={[{ label: null, options }]} loading={datasets === undefined} emptyNote="No datasets yet." />;
}

function SubsetField(props: FieldProps) {
  const { config, datasets } = useForm();
  const datasetName = getAt(config, [...props.path.slice(0, -3), 'dataset']);
  const dataset = datasets?.find((d) => d.name === datasetName);
  const options = (dataset?.subsets ?? []).map((s) => ({ value: s.name, label: `${s.name} · ${s.imageCount} images × ${s.repeats}` }));
  return (
    <PickerShell
      props={props}
      groups={[{ label: null, options }]}
      loading={datasets === undefined}
      emptyNote={dataset ? 'This dataset has no subsets.' : 'Choose the dataset first.'}
    />
  );
}

/* ---------- objects and unions ---------- */

/** The properties of an object node, in schema order (a union's discriminator is shown by the union). */
function ObjectBody({ node, path, depth, skip }: { node: JsonSchemaNode; path: Path; depth: number; skip?: string }) {
  const required = new Set(node.required ?? []);
  return (
    <>
      {Object.entries(node.properties ?? {}).map(([key, child]) =>
        key === skip ? null : <SchemaField key={key} node={child} path={[...path, key]} required={required.has(key)} depth={depth + 1} />,
      )}
    </>
  );
}

/** A top-level part of the run: a fold that starts open for the main settings and shows its issue count. */
function Section({ path, node, children }: { path: Path; node: JsonSchemaNode; children: ReactNode }) {
  const { issueCounts, issues } = useForm();
  const dotted = formatPath(path);
  const [open, setOpen] = useState(OPEN_SECTIONS.has(dotted));
  const count = issueCounts.get(dotted) ?? 0;
  const own = issues.get(dotted);
  return (
    <details
      className="tf-section"
      open={open}
      onToggle={(event) => setOpen(event.currentTarget.open)}
      data-testid={`field-${dotted}`}
      data-field-path={dotted}
    >
      <summary className="tf-section__summary">
        <span className="tf-section__title">{labelFor(lastKey(path))}</span>
        {count > 0 ? <span className="badge badge--warn tf-section__count">{count === 1 ? '1 issue' : `${count} issues`}</span> : null}
      </summary>
      <div className="tf-section__body">
        {node.description ? (
          <p className="tf-help tf-help--group">
            <RichText text={node.description} />
          </p>
        ) : null}
        <IssueLines issues={own} />
        {children}
      </div>
    </details>
  );
}

/** A nested group: a fieldset with its description as help. */
function Group({ path, node, children, actions }: { path: Path; node: JsonSchemaNode; children: ReactNode; actions?: ReactNode }) {
  const { issues } = useForm();
  const dotted = formatPath(path);
  return (
    <fieldset className="tf-group" data-testid={`field-${dotted}`} data-field-path={dotted} tabIndex={-1}>
      <legend className="tf-group__legend">{labelFor(lastKey(path))}</legend>
      {actions ? <div className="tf-group__actions">{actions}</div> : null}
      {node.description ? (
        <p className="tf-help tf-help--group">
          <RichText text={node.description} />
        </p>
      ) : null}
      <IssueLines issues={issues.get(dotted)} />
      {children}
    </fieldset>
  );
}

/** The FluxFlow settings lorasmith does not offer, shown disabled where they would live, with the reason. */
function DeadFields({ section }: { section: string }) {
  const { config, deadFields } = useForm();
  if (config.kind !== 'fluxflow') return null;
  const here = deadFields.map((dead, index) => ({ dead, index })).filter(({ dead }) => deadFieldSection(dead.field) === section);
  if (here.length === 0) return null;
  return (
    <fieldset className="tf-group tf-group--dead" disabled>
      <legend className="tf-group__legend">Not offered</legend>
      <p className="tf-help tf-help--group">FluxFlow settings that lorasmith leaves out, and why.</p>
      {here.map(({ dead, index }) => (
        <div key={index} className="tf-field tf-field--dead" data-testid={`dead-field-${index}`}>
          <label className="tf-field__label" htmlFor={`tf-dead-${index}`}>
            <code>{dead.field}</code>
          </label>
          <div className="tf-field__control">
            <input id={`tf-dead-${index}`} className="input" type="text" value="Not offered" disabled aria-describedby={`tf-dead-${index}-why`} readOnly />
          </div>
          <p className="tf-help" id={`tf-dead-${index}-why`}>
            {dead.reason}
          </p>
        </div>
      ))}
    </fieldset>
  );
}

function ObjectField({ node, path, required, depth }: FieldProps) {
  const { config, set } = useForm();
  const value = getAt(config, path);
  const dotted = formatPath(path);
  const optional = !required && node.default === undefined;
  if (optional && !isPlainObject(value)) {
    return (
      <div className="tf-field tf-field--absent" data-testid={`field-${dotted}`} data-field-path={dotted}>
        <span className="tf-field__label">{labelFor(lastKey(path))}</span>
        <div className="tf-field__control">
          <button type="button" className="button button--small button--ghost" onClick={() => set(path, withDefaults(node, initialValue(node, true)))}>
            Set {inSentence(labelFor(lastKey(path)))}
          </button>
        </div>
        {node.description ? (
          <p className="tf-help">
            <RichText text={node.description} />
          </p>
        ) : null}
      </div>
    );
  }
  const body = (
    <>
      <ObjectBody node={node} path={path} depth={depth} />
      <DeadFields section={dotted} />
    </>
  );
  if (depth === 1) return <Section path={path} node={node}>{body}</Section>;
  return (
    <Group
      path={path}
      node={node}
      actions={
        optional ? (
          <button type="button" className="button button--small button--ghost" onClick={() => set(path, undefined)}>
            Remove
          </button>
        ) : null
      }
    >
      {body}
    </Group>
  );
}

/** A union of objects told apart by one key: a select of that key, then the chosen variant's other fields. */
function UnionBody({ node, path, depth }: { node: JsonSchemaNode; path: Path; depth: number }) {
  const { config, set, issues } = useForm();
  const variants = objectVariants(node) ?? [];
  const key = discriminatorOf(variants);
  const value = getAt(config, path);
  if (!key) return <p className="muted">This part of the config cannot be edited here.</p>;
  const variant = variantFor(variants, key, value);
  const choices = discriminatorChoices(variants, key);
  const current = isPlainObject(value) ? value[key] : undefined;
  const index = choices.findIndex((c) => c.value === current);
  const keyPath = [...path, key];
  const dotted = formatPath(keyPath);
  const id = fieldId(dotted);
  const keyNode = variant?.properties?.[key] ?? variants[0]?.properties?.[key] ?? {};
  const choose = (i: number) => {
    const choice = choices[i];
    if (!choice) return;
    if (choice.variant === variant) set(keyPath, choice.value);
    else {
      const fresh = withDefaults(choice.variant, initialValue(choice.variant, true));
      set(path, { ...(isPlainObject(fresh) ? fresh : {}), [key]: choice.value });
    }
  };
  return (
    <>
      <FieldShell path={keyPath} node={{ ...keyNode, description: keyNode.description }} required>
        <select
          id={id}
          className="input select"
          value={index < 0 ? '' : String(index)}
          aria-describedby={describedBy(id, keyNode.description, issues.get(dotted))}
          onChange={(event) => choose(Number(event.target.value))}
        >
          {index < 0 ? <option value="">Choose…</option> : null}
          {choices.map((c, i) => (
            <option key={i} value={String(i)}>
              {optionLabel(key, c.value)}
            </option>
          ))}
        </select>
      </FieldShell>
      {variant ? <ObjectBody node={variant} path={path} depth={depth} skip={key} /> : null}
    </>
  );
}

function UnionField({ node, path, required, depth }: FieldProps) {
  const { config, set } = useForm();
  const value = getAt(config, path);
  const optional = !required && node.default === undefined;
  const dotted = formatPath(path);
  if (optional && !isPlainObject(value)) {
    return (
      <div className="tf-field tf-field--absent" data-testid={`field-${dotted}`} data-field-path={dotted}>
        <span className="tf-field__label">{labelFor(lastKey(path))}</span>
        <div className="tf-field__control">
          <button type="button" className="button button--small button--ghost" onClick={() => set(path, withDefaults(node, initialValue(node, true)))}>
            Set {inSentence(labelFor(lastKey(path)))}
          </button>
        </div>
      </div>
    );
  }
  const body = <UnionBody node={node} path={path} depth={depth} />;
  if (depth === 1) return <Section path={path} node={node}>{body}</Section>;
  return <Group path={path} node={node}>{body}</Group>;
}

/* ---------- arrays ---------- */

function ListControls({ path, count, node, onAdd }: { path: Path; count: number; node: JsonSchemaNode; onAdd: () => void }) {
  const full = node.maxItems !== undefined && count >= node.maxItems;
  const dotted = formatPath(path);
  return (
    <div className="tf-list__add">
      <button type="button" className="button button--small button--ghost" onClick={onAdd} disabled={full} data-testid={`add-${dotted}`}>
        Add {inSentence(singular(labelFor(lastKey(path))))}
      </button>
      {node.maxItems !== undefined ? <span className="tf-range">{`${count} of at most ${node.maxItems}`}</span> : null}
    </div>
  );
}

function ObjectListField({ node, path, depth, item }: FieldProps & { item: JsonSchemaNode }) {
  const { config, set } = useForm();
  const value = getAt(config, path);
  const list = Array.isArray(value) ? value : [];
  const min = node.minItems ?? 0;
  const itemIsUnion = objectVariants(item) !== null;
  const body = (
    <>
      {list.length === 0 ? <p className="muted tf-list__empty">None.</p> : null}
      {list.map((_, index) => {
        const itemPath = [...path, index];
        const itemDotted = formatPath(itemPath);
        return (
          <div key={index} className="tf-item" data-testid={`field-${itemDotted}`} data-field-path={itemDotted} tabIndex={-1}>
            <div className="tf-item__head">
              <span className="tf-item__title">{`${singular(labelFor(lastKey(path)))} ${index + 1}`}</span>
              <button
                type="button"
                className="button button--small button--ghost"
                disabled={list.length <= min}
                onClick={() => set(path, list.filter((__, i) => i !== index))}
                data-testid={`remove-${itemDotted}`}
                aria-label={`Remove ${inSentence(singular(labelFor(lastKey(path))))} ${index + 1}`}
              >
                Remove
              </button>
            </div>
            <ItemIssues path={itemPath} />
            {itemIsUnion ? <UnionBody node={item} path={itemPath} depth={depth + 1} /> : <ObjectBody node={item} path={itemPath} depth={depth + 1} />}
          </div>
        );
      })}
      <ListControls path={path} count={list.length} node={node} onAdd={() => set(path, [...list, withDefaults(item, initialValue(item, true)) ?? {}])} />
    </>
  );
  if (depth === 1) return <Section path={path} node={node}>{body}</Section>;
  return (
    <Group path={path} node={node}>
      {body}
    </Group>
  );
}

function ItemIssues({ path }: { path: Path }) {
  const { issues } = useForm();
  return <IssueLines issues={issues.get(formatPath(path))} />;
}

function PrimitiveListField({ node, path, required, item }: FieldProps & { item: JsonSchemaNode }) {
  const { config, set } = useForm();
  const value = getAt(config, path);
  const list = Array.isArray(value) ? value : [];
  const numeric = item.type === 'integer' || item.type === 'number';
  const dotted = formatPath(path);
  const { issues } = useForm();
  return (
    <FieldShell path={path} node={node} required={required} labelFor={false}>
      <div className="tf-list" role="group" aria-labelledby={`${fieldId(dotted)}-label`}>
        {list.map((entry, index) => {
          const entryPath = [...path, index];
          const entryDotted = formatPath(entryPath);
          return (
            <div key={index} className="tf-list__row" data-testid={`field-${entryDotted}`} data-field-path={entryDotted}>
              {numeric ? (
                <NumberInput
                  id={fieldId(entryDotted)}
                  node={item}
                  value={entry}
                  label={`${labelFor(lastKey(path))} ${index + 1}`}
                  onChange={(v) => set(entryPath, v ?? null)}
                />
              ) : (
                <input
                  id={fieldId(entryDotted)}
                  className="input tf-text tf-text--long"
                  type="text"
                  maxLength={item.maxLength}
                  value={typeof entry === 'string' ? entry : ''}
                  aria-label={`${labelFor(lastKey(path))} ${index + 1}`}
                  onChange={(event) => set(entryPath, event.target.value)}
                />
              )}
              <button
                type="button"
                className="button button--small button--ghost"
                disabled={list.length <= (node.minItems ?? 0)}
                onClick={() => set(path, list.filter((_, i) => i !== index))}
                aria-label={`Remove ${inSentence(singular(labelFor(lastKey(path))))} ${index + 1}`}
                data-testid={`remove-${entryDotted}`}
              >
                Remove
              </button>
              <IssueLines issues={issues.get(entryDotted)} />
            </div>
          );
        })}
        <ListControls path={path} count={list.length} node={node} onAdd={() => set(path, [...list, numeric ? (item.minimum ?? 0) : ''])} />
      </div>
    </FieldShell>
  );
}

function MultiChoiceField({ node, path, required, choices }: FieldProps & { choices: Array<string | number | boolean | null> }) {
  const { config, set } = useForm();
  const value = getAt(config, path);
  const list = Array.isArray(value) ? value : [];
  const dotted = formatPath(path);
  return (
    <FieldShell path={path} node={node} required={required} labelFor={false}>
      <div className="tf-checks" role="group" aria-labelledby={`${fieldId(dotted)}-label`}>
        {choices.map((choice, i) => (
          <label key={i} className="checkbox">
            <input
              type="checkbox"
              checked={list.includes(choice)}
              onChange={(event) =>
                set(path, event.target.checked ? choices.filter((c) => c === choice || list.includes(c)) : list.filter((c) => c !== choice))
              }
            />
            <span className="mono">{String(choice)}</span>
          </label>
        ))}
      </div>
    </FieldShell>
  );
}

function TupleField({ node, path, required }: FieldProps) {
  const { config, set } = useForm();
  const value = getAt(config, path);
  const parts = node.prefixItems ?? [];
  const list = Array.isArray(value) ? value : [];
  const dotted = formatPath(path);
  const update = (index: number, next: number | undefined) => {
    const values = parts.map((_, i) => (i === index ? next : (list[i] ?? undefined)));
    if (values.every((v) => v === undefined || v === null)) set(path, required ? values.map(() => null) : undefined);
    else set(path, values.map((v) => (v === undefined ? null : v)));
  };
  return (
    <FieldShell path={path} node={node} required={required} labelFor={false}>
      <div className="tf-tuple" role="group" aria-labelledby={`${fieldId(dotted)}-label`}>
        {parts.map((part, index) => (
          <NumberInput
            key={index}
            id={index === 0 ? fieldId(dotted) : undefined}
            node={part}
            value={list[index] ?? undefined}
            label={`${labelFor(lastKey(path))} ${index + 1}`}
            placeholder={rangeText(part) ?? ''}
            onChange={(v) => update(index, v)}
          />
        ))}
      </div>
    </FieldShell>
  );
}

/* ---------- the run ---------- */

/** The whole run: its own scalar fields first (engine, name, family, …), then one fold per part. */
export function RunForm({ schema }: { schema: JsonSchemaNode }) {
  const { config } = useForm();
  const variants = objectVariants(schema) ?? [];
  const key = discriminatorOf(variants) ?? 'kind';
  const variant = variantFor(variants, key, config);
  const scalars = (n: JsonSchemaNode) =>
    Object.entries(n.properties ?? {}).filter(([k, child]) => {
      if (k === key || child.const !== undefined) return false;
      const complex = child.type === 'object' || child.type === 'array' || objectVariants(child) !== null;
      return !complex;
    });
  const required = new Set(variant?.required ?? []);
  return (
    <div className="tf-form">
      <fieldset className="tf-group tf-group--run" data-testid="field-" data-field-path="">
        <legend className="tf-group__legend">Run</legend>
        <UnionKindSelect schema={schema} />
        {variant
          ? scalars(variant).map(([k, child]) => <SchemaField key={k} node={child} path={[k]} required={required.has(k)} depth={1} />)
          : null}
        <DeadFields section="" />
      </fieldset>
      {variant
        ? Object.entries(variant.properties ?? {})
            .filter(([k, child]) => k !== key && child.const === undefined && !scalars(variant).some(([s]) => s === k))
            .map(([k, child]) => <SchemaField key={k} node={child} path={[k]} required={required.has(k)} depth={1} />)
        : null}
    </div>
  );
}

/** The engine select: switching engines starts that engine's run from its defaults, keeping the name. */
function UnionKindSelect({ schema }: { schema: JsonSchemaNode }) {
  const { config, set, issues } = useForm();
  const variants = objectVariants(schema) ?? [];
  const key = discriminatorOf(variants) ?? 'kind';
  const choices = discriminatorChoices(variants, key);
  const index = choices.findIndex((c) => c.value === config[key]);
  const keyNode = choices[Math.max(index, 0)]?.variant.properties?.[key] ?? {};
  const id = fieldId(key);
  const choose = (i: number) => {
    const choice = choices[i];
    if (!choice || i === index) return;
    const fresh = withDefaults(choice.variant, initialValue(choice.variant, true));
    const next = { ...(isPlainObject(fresh) ? fresh : {}), [key]: choice.value };
    if (typeof config.name === 'string') next.name = config.name;
    set([], next);
  };
  return (
    <FieldShell path={[key]} node={{ ...keyNode, description: choices[Math.max(index, 0)]?.variant.description ?? keyNode.description }} required label="Engine">
      <select id={id} className="input select" value={index < 0 ? '' : String(index)} onChange={(event) => choose(Number(event.target.value))} aria-describedby={describedBy(id, 'x', issues.get(key))}>
        {choices.map((c, i) => (
          <option key={i} value={String(i)}>
            {optionLabel(key, c.value)}
          </option>
        ))}
      </select>
    </FieldShell>
  );
}
