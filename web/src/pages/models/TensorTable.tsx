import { useDeferredValue, useMemo, useState } from 'react';
import { DataTable, SIZE } from '../../components/DataTable.tsx';
import { TextField } from '../../components/TextField.tsx';
import { formatBytes, formatCount } from '../../format.ts';
import type { ModelHeader } from '../../types.ts';

/** At most this many rows are in the page at once; the filter narrows down the rest. */
export const TENSOR_ROWS = 500;

function shapeText(shape: number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join(' × ');
}

export function TensorTable({ header }: { header: ModelHeader }) {
  const [filter, setFilter] = useState('');
  const deferred = useDeferredValue(filter);
  const q = deferred.trim().toLowerCase();
  const matching = useMemo(
    () => (q === '' ? header.tensors : header.tensors.filter((t) => t.name.toLowerCase().includes(q))),
    [header.tensors, q],
  );
  const rows = matching.slice(0, TENSOR_ROWS);
  const dtypes = Object.entries(header.dtypes).sort((a, b) => b[1].bytes - a[1].bytes);
  const total = header.tensors.length;

  return (
    <div className="subsection" data-testid="model-tensors">
      <h3 className="subsection__title">Tensors</h3>
      {dtypes.length > 0 ? (
        <ul className="dtypes" data-testid="tensor-dtypes" aria-label="Tensors by data type">
          {dtypes.map(([dtype, info]) => (
            <li key={dtype} className="dtypes__item">
              <span className="mono dtypes__name">{dtype}</span>
              <span className="muted">
                {formatCount(info.count)} {info.count === 1 ? 'tensor' : 'tensors'} · {formatBytes(info.bytes)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      <div className="inline-form">
        <TextField
          id="tensor-filter"
          label="Tensor name contains"
          labelClassName="visually-hidden"
          type="search"
          className="input input--mono input--wide"
          value={filter}
          onChange={setFilter}
          placeholder="Filter tensors by name, e.g. attn2 or lora_up"
          testId="tensor-filter"
        />
        <span className="muted nowrap" data-testid="tensor-count" aria-live="polite">
          showing {formatCount(rows.length)} of {formatCount(matching.length)}
          {q !== '' ? ` matching · ${formatCount(total)} in all` : ''}
        </span>
      </div>
      <DataTable
        columns={['Name', 'dtype', 'Shape', SIZE]}
        className="table--fixed table--sticky"
        testId="tensor-table"
        scrollClassName="table-scroll--tall"
        scrollLabel="Tensors"
        colgroup={
          <colgroup>
            <col />
            <col className="col--dtype" />
            <col className="col--shape" />
            <col className="col--bytes" />
          </colgroup>
        }
        empty={rows.length === 0 ? (total === 0 ? 'This file holds no tensors.' : 'No tensor name contains that text.') : null}
      >
        {rows.map((tensor) => (
          <tr key={tensor.name}>
            <td className="mono table__wrap">{tensor.name}</td>
            <td className="mono">{tensor.dtype}</td>
            <td className="mono table__wrap">{shapeText(tensor.shape)}</td>
            <td className="num nowrap">{formatBytes(tensor.bytes)}</td>
          </tr>
        ))}
      </DataTable>
      {matching.length > rows.length ? (
        <p className="muted table__note">
          {formatCount(matching.length - rows.length)} more not shown — narrow the filter to find them.
        </p>
      ) : null}
    </div>
  );
}
