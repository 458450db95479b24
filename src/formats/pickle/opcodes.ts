/**
 * The pickle opcodes of protocols 0–5 (model-file-security.md Appendix A, CPython 3.11 `pickletools`).
 * `arg` names the argument encoding; the reader decodes each one with a length check before allocating.
 */

export type ArgKind =
  | 'none'
  | 'uint1'
  | 'uint2'
  | 'int4'
  | 'uint4'
  | 'uint8'
  | 'float8'
  | 'decimalnl_short'
  | 'decimalnl_long'
  | 'floatnl'
  | 'stringnl'
  | 'stringnl_noescape'
  | 'stringnl_noescape_pair'
  | 'unicodestringnl'
  | 'string1'
  | 'string4'
  | 'bytes1'
  | 'bytes4'
  | 'bytes8'
  | 'bytearray8'
  | 'unicodestring1'
  | 'unicodestring4'
  | 'unicodestring8'
  | 'long1'
  | 'long4';

const TABLE = [
  [0x49, 'INT', 'decimalnl_short'],
  [0x4a, 'BININT', 'int4'],
  [0x4b, 'BININT1', 'uint1'],
  [0x4d, 'BININT2', 'uint2'],
  [0x4c, 'LONG', 'decimalnl_long'],
  [0x8a, 'LONG1', 'long1'],
  [0x8b, 'LONG4', 'long4'],
  [0x53, 'STRING', 'stringnl'],
  [0x54, 'BINSTRING', 'string4'],
  [0x55, 'SHORT_BINSTRING', 'string1'],
  [0x42, 'BINBYTES', 'bytes4'],
  [0x43, 'SHORT_BINBYTES', 'bytes1'],
  [0x8e, 'BINBYTES8', 'bytes8'],
  [0x96, 'BYTEARRAY8', 'bytearray8'],
  [0x97, 'NEXT_BUFFER', 'none'],
  [0x98, 'READONLY_BUFFER', 'none'],
  [0x4e, 'NONE', 'none'],
  [0x88, 'NEWTRUE', 'none'],
  [0x89, 'NEWFALSE', 'none'],
  [0x56, 'UNICODE', 'unicodestringnl'],
  [0x8c, 'SHORT_BINUNICODE', 'unicodestring1'],
  [0x58, 'BINUNICODE', 'unicodestring4'],
  [0x8d, 'BINUNICODE8', 'unicodestring8'],
  [0x46, 'FLOAT', 'floatnl'],
  [0x47, 'BINFLOAT', 'float8'],
  [0x5d, 'EMPTY_LIST', 'none'],
  [0x61, 'APPEND', 'none'],
  [0x65, 'APPENDS', 'none'],
  [0x6c, 'LIST', 'none'],
  [0x29, 'EMPTY_TUPLE', 'none'],
  [0x74, 'TUPLE', 'none'],
  [0x85, 'TUPLE1', 'none'],
  [0x86, 'TUPLE2', 'none'],
  [0x87, 'TUPLE3', 'none'],
  [0x7d, 'EMPTY_DICT', 'none'],
  [0x64, 'DICT', 'none'],
  [0x73, 'SETITEM', 'none'],
  [0x75, 'SETITEMS', 'none'],
  [0x8f, 'EMPTY_SET', 'none'],
  [0x90, 'ADDITEMS', 'none'],
  [0x91, 'FROZENSET', 'none'],
  [0x30, 'POP', 'none'],
  [0x32, 'DUP', 'none'],
  [0x28, 'MARK', 'none'],
  [0x31, 'POP_MARK', 'none'],
  [0x67, 'GET', 'decimalnl_short'],
  [0x68, 'BINGET', 'uint1'],
  [0x6a, 'LONG_BINGET', 'uint4'],
  [0x70, 'PUT', 'decimalnl_short'],
  [0x71, 'BINPUT', 'uint1'],
  [0x72, 'LONG_BINPUT', 'uint4'],
  [0x94, 'MEMOIZE', 'none'],
  [0x82, 'EXT1', 'uint1'],
  [0x83, 'EXT2', 'uint2'],
  [0x84, 'EXT4', 'int4'],
  [0x63, 'GLOBAL', 'stringnl_noescape_pair'],
  [0x93, 'STACK_GLOBAL', 'none'],
  [0x52, 'REDUCE', 'none'],
  [0x62, 'BUILD', 'none'],
  [0x69, 'INST', 'stringnl_noescape_pair'],
  [0x6f, 'OBJ', 'none'],
  [0x81, 'NEWOBJ', 'none'],
  [0x92, 'NEWOBJ_EX', 'none'],
  [0x80, 'PROTO', 'uint1'],
  [0x2e, 'STOP', 'none'],
  [0x95, 'FRAME', 'uint8'],
  [0x50, 'PERSID', 'stringnl_noescape'],
  [0x51, 'BINPERSID', 'none'],
] as const;

export type OpName = (typeof TABLE)[number][1];

export interface OpcodeInfo {
  code: number;
  name: OpName;
  arg: ArgKind;
}

export const OPCODES: ReadonlyMap<number, OpcodeInfo> = new Map(
  TABLE.map(([code, name, arg]) => [code, { code, name, arg }]),
);

/** `OPCODES` as a 256-slot table indexed by the opcode byte, for the reader's per-opcode lookup. */
export const OPCODE_TABLE: ReadonlyArray<OpcodeInfo | undefined> = Array.from({ length: 256 }, (_, code) => OPCODES.get(code));

/**
 * The 34 opcodes `torch.weights_only` (2.13.0) accepts; a zip's `data.pkl` may use no other (PKL-R06).
 * Source: pickle-globals.json `extras.torch_weights_only_opcode_allowlist`.
 */
export const TORCH_DATA_PKL_OPCODES: ReadonlySet<OpName> = new Set<OpName>([
  'PROTO',
  'STOP',
  'GLOBAL',
  'NEWOBJ',
  'REDUCE',
  'BUILD',
  'APPEND',
  'APPENDS',
  'SETITEM',
  'SETITEMS',
  'MARK',
  'TUPLE',
  'TUPLE1',
  'TUPLE2',
  'TUPLE3',
  'NONE',
  'NEWFALSE',
  'NEWTRUE',
  'EMPTY_TUPLE',
  'EMPTY_LIST',
  'EMPTY_DICT',
  'EMPTY_SET',
  'BININT',
  'BININT1',
  'BININT2',
  'BINFLOAT',
  'BINUNICODE',
  'SHORT_BINSTRING',
  'BINPERSID',
  'BINGET',
  'LONG_BINGET',
  'BINPUT',
  'LONG_BINPUT',
  'LONG1',
]);
