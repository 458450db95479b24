import { applyAllowedCall, applyAllowedNewobj } from './apply-call.ts';
import { checkImport } from './check-import.ts';
import type { ImportCheck } from './check-import.ts';
import { TORCH_DATA_PKL_OPCODES } from './opcodes.ts';
import type { OpName } from './opcodes.ts';
import { OpReader, PickleParseError } from './read-op.ts';
import type { Op } from './read-op.ts';
import type { Reporter } from './rebuild-tensor.ts';
import { storageClassInfo } from './torch-dtypes.ts';
import { DEFAULT_PICKLE_LIMITS } from './types.ts';
import type { Finding, PickleLimits, Rejection, ScanWarning } from './types.ts';
import { NONE, REJECTED, describeKind, dictKey, spend } from './values.ts';
import type { DictEntry, GlobalRef, PValue, StorageRef, VisitMeter } from './values.ts';

/**
 * Which reader the stream is written for. `torch-zip`: a zip checkpoint's `data.pkl` (PKL-R06 opcode subset,
 * 5-tuple storage ids); `torch-legacy`: a stacked-pickle torch file (any protocol, 6-tuple ids); `raw`: any
 * other pickle (no persistent ids at all, PKL-R04).
 */
export type PickleDialect = 'raw' | 'torch-zip' | 'torch-legacy';

export interface PickleRun {
  findings: Finding[];
  warnings: ScanWarning[];
  /** The value STOP returned; `undefined` when the stream did not parse to its STOP. */
  root: PValue | undefined;
  /** Offset just past STOP, or where parsing stopped. */
  end: number;
  storages: Map<string, StorageRef>;
  protocol: number;
  opcodes: number;
}

const MAX_FINDINGS = 64;
const LOCATION = /^(cpu|cuda|cuda:\d{1,4}|mps|meta)$/;
const STORAGE_KEY = /^\d{1,20}$/;

type EmbedRole = 'tuple-item' | 'list-item' | 'dict-key' | 'dict-value' | 'set-item' | 'state' | 'pid' | 'root';

/**
 * Run one pickle stream through the static interpreter: every opcode is decoded under the bounds of PKL-R11,
 * values are modelled on a stack and an exact memo (PKL-R08, R10), every import is checked against the
 * allowlist (PKL-R07, R16) and every call, build and container update against the value it applies to.
 * Nothing is imported or executed. Scanning goes on after an `unsafe` finding, so all imports get labelled,
 * and stops at the first parse error, which makes the stream `invalid` (PKL-R12).
 */
export function interpretPickle(params: {
  bytes: Uint8Array;
  start?: number;
  dialect: PickleDialect;
  member?: string;
  limits?: PickleLimits;
  meter: VisitMeter;
}): PickleRun {
  const interpreter = new Interpreter(params);
  return interpreter.run();
}

class Interpreter implements Reporter {
  private readonly reader: OpReader;
  private readonly dialect: PickleDialect;
  private readonly member: string | undefined;
  private readonly limits: PickleLimits;
  private readonly meter: VisitMeter;
  private stack: PValue[] = [];
  private readonly metastack: PValue[][] = [];
  private held = 0;
  private readonly memo = new Map<number, PValue>();
  private protocol = 0;
  private readonly findings: Finding[] = [];
  private readonly warnings: ScanWarning[] = [];
  private readonly storages = new Map<string, StorageRef>();
  private readonly reportedOpcodes = new Set<OpName>();
  private readonly warnedGlobals = new Set<string>();
  /** PKL-R07a: dicts keyed by the Lightning callback class, and dicts stored under a `callbacks` key. */
  private readonly classKeyedDicts = new Map<PValue, number>();
  private readonly callbacksDicts = new Set<PValue>();
  private op: Op = { name: 'STOP', offset: 0 };
  /**
   * `checkImport` is a pure function of (module, name, protocol < 3); a checkpoint imports the same few
   * globals thousands of times when it does not memoize them. Keyed by nested maps, never by a joined string,
   * so no two (module, name) pairs can share an entry.
   */
  private readonly importChecks: [Map<string, Map<string, ImportCheck>>, Map<string, Map<string, ImportCheck>>] = [new Map(), new Map()];

  constructor(params: { bytes: Uint8Array; start?: number; dialect: PickleDialect; member?: string; limits?: PickleLimits; meter: VisitMeter }) {
    this.limits = params.limits ?? DEFAULT_PICKLE_LIMITS;
    this.reader = new OpReader({ bytes: params.bytes, start: params.start ?? 0, limits: this.limits });
    this.dialect = params.dialect;
    this.member = params.member;
    this.meter = params.meter;
  }

  run(): PickleRun {
    let root: PValue | undefined;
    try {
      root = this.loop();
    } catch (error) {
      if (!(error instanceof PickleParseError)) throw error;
      this.add({ verdict: 'invalid', code: error.code, message: error.message, requirement: 'PKL-R12', offset: error.offset });
    }
    return {
      findings: this.findings,
      warnings: this.warnings,
      root,
      end: this.reader.position,
      storages: this.storages,
      protocol: this.protocol,
      opcodes: this.reader.opcodeCount,
    };
  }

  reject(params: { verdict: Rejection; code: string; message: string; requirement?: string; offset: number; global?: string; label?: string }): void {
    this.add(params);
  }

  private add(finding: Omit<Finding, 'member'>): void {
    if (this.findings.length >= MAX_FINDINGS) return;
    this.findings.push({ ...finding, ...(this.member === undefined ? {} : { member: this.member }) });
  }

  private warn(warning: Omit<ScanWarning, 'member'>): void {
    this.warnings.push({ ...warning, ...(this.member === undefined ? {} : { member: this.member }) });
  }

  private loop(): PValue {
    for (;;) {
      const op = this.reader.next();
      this.op = op;
      spend(this.meter, 1, op.offset);
      this.checkDialect(op);
      if (op.name === 'STOP') return this.stop();
      this.step(op);
    }
  }

  // ---- stack ------------------------------------------------------------------------------------------

  private fail(code: string, message: string): PickleParseError {
    return new PickleParseError(code, message, this.op.offset);
  }

  private push(value: PValue): void {
    this.held++;
    if (this.held > this.limits.maxStackDepth) throw this.fail('pickle.limit_stack', `stack deeper than ${this.limits.maxStackDepth}`);
    this.stack.push(value);
  }

  private pop(): PValue {
    const value = this.stack.pop();
    if (value === undefined) throw this.fail('pickle.stack_underflow', `${this.op.name} on an empty stack`);
    this.held--;
    return value;
  }

  private peek(): PValue {
    const value = this.stack[this.stack.length - 1];
    if (value === undefined) throw this.fail('pickle.stack_underflow', `${this.op.name} on an empty stack`);
    return value;
  }

  private popMark(): PValue[] {
    const items = this.stack;
    const below = this.metastack.pop();
    if (below === undefined) throw this.fail('pickle.mark_missing', `${this.op.name} without a MARK`);
    this.stack = below;
    this.held -= items.length + 1;
    spend(this.meter, items.length, this.op.offset);
    return items;
  }

  // ---- dialect rules ----------------------------------------------------------------------------------

  private checkDialect(op: Op): void {
    if (this.dialect === 'torch-zip') {
      if (op.name === 'PROTO') {
        if (this.reader.opcodeCount !== 1) {
          this.add({ verdict: 'invalid', code: 'pickle.proto_repeated', message: 'data.pkl switches protocol mid-stream', requirement: 'PKL-R06', offset: op.offset });
        } else if (op.int !== 2n && op.int !== 3n) {
          this.add({ verdict: 'invalid', code: 'pickle.protocol', message: `data.pkl uses protocol ${op.int}, not 2 or 3`, requirement: 'PKL-R06', offset: op.offset });
        } else if (op.int === 3n) {
          this.warn({ code: 'pickle.protocol3', message: 'data.pkl uses protocol 3 (torch writes 2)', offset: op.offset });
        }
      } else if (this.reader.opcodeCount === 1) {
        this.add({ verdict: 'invalid', code: 'pickle.protocol', message: 'data.pkl does not start with PROTO', requirement: 'PKL-R06', offset: op.offset });
      }
      if (!TORCH_DATA_PKL_OPCODES.has(op.name) && !this.reportedOpcodes.has(op.name)) {
        this.reportedOpcodes.add(op.name);
        this.add({
          verdict: 'unsafe',
          code: 'pickle.opcode_not_allowed',
          message: `opcode ${op.name} is outside the 34 torch.weights_only accepts in data.pkl`,
          requirement: 'PKL-R06',
          offset: op.offset,
        });
      }
    }
  }

  // ---- opcodes ----------------------------------------------------------------------------------------

  private step(op: Op): void {
    switch (op.name) {
      case 'PROTO': {
        const version = op.int ?? 0n;
        if (version > 5n) throw this.fail('pickle.protocol', `unsupported pickle protocol ${version}`);
        this.protocol = Number(version);
        return;
      }
      case 'FRAME':
        return;
      case 'NONE':
        return this.push(NONE);
      case 'NEWTRUE':
      case 'NEWFALSE':
        return this.push({ kind: 'bool', value: op.name === 'NEWTRUE' });
      case 'INT':
      case 'LONG':
      case 'BININT':
      case 'BININT1':
      case 'BININT2':
      case 'LONG1':
      case 'LONG4':
        return this.push(op.bool === undefined ? { kind: 'int', value: op.int ?? 0n } : { kind: 'bool', value: op.bool });
      case 'FLOAT':
      case 'BINFLOAT':
        return this.push({ kind: 'float', value: op.float ?? 0 });
      case 'STRING':
      case 'BINSTRING':
      case 'SHORT_BINSTRING':
      case 'UNICODE':
      case 'SHORT_BINUNICODE':
      case 'BINUNICODE':
      case 'BINUNICODE8':
        return this.push({ kind: 'str', value: op.text ?? '' });
      case 'BINBYTES':
      case 'SHORT_BINBYTES':
      case 'BINBYTES8':
      case 'BYTEARRAY8':
        return this.push({ kind: 'bytes', value: op.bytes ?? new Uint8Array(0), mutable: op.name === 'BYTEARRAY8' });
      case 'EMPTY_LIST':
        return this.push({ kind: 'list', items: [] });
      case 'EMPTY_TUPLE':
        return this.push({ kind: 'tuple', items: [], special: false });
      case 'EMPTY_DICT':
        return this.push({ kind: 'dict', flavor: 'dict', entries: new Map() });
      case 'EMPTY_SET':
        return this.push({ kind: 'set', frozen: false });
      case 'MARK':
        this.held++;
        if (this.held > this.limits.maxStackDepth) throw this.fail('pickle.limit_stack', `stack deeper than ${this.limits.maxStackDepth}`);
        this.metastack.push(this.stack);
        this.stack = [];
        return;
      case 'POP':
        if (this.stack.length > 0) this.pop();
        else this.popMark();
        return;
      case 'POP_MARK':
        this.popMark();
        return;
      case 'DUP':
        return this.push(this.peek());
      case 'TUPLE':
        return this.push(this.tuple(this.popMark()));
      case 'TUPLE1':
      case 'TUPLE2':
      case 'TUPLE3': {
        const count = op.name === 'TUPLE1' ? 1 : op.name === 'TUPLE2' ? 2 : 3;
        const items: PValue[] = [];
        for (let i = 0; i < count; i++) items.unshift(this.pop());
        return this.push(this.tuple(items));
      }
      case 'LIST': {
        const items = this.popMark();
        for (const item of items) this.embed(item, 'list-item');
        return this.push({ kind: 'list', items });
      }
      case 'DICT': {
        const items = this.popMark();
        if (items.length % 2 !== 0) throw this.fail('pickle.odd_items', 'DICT with an odd number of items');
        const dict: PValue = { kind: 'dict', flavor: 'dict', entries: new Map() };
        for (let i = 0; i < items.length; i += 2) this.setItem(dict, items[i] as PValue, items[i + 1] as PValue);
        return this.push(dict);
      }
      case 'APPEND': {
        const item = this.pop();
        return this.append(this.peek(), [item]);
      }
      case 'APPENDS': {
        const items = this.popMark();
        return this.append(this.peek(), items);
      }
      case 'SETITEM': {
        const value = this.pop();
        const key = this.pop();
        return this.setItems(this.peek(), [key, value]);
      }
      case 'SETITEMS': {
        const items = this.popMark();
        if (items.length % 2 !== 0) throw this.fail('pickle.odd_items', 'SETITEMS with an odd number of items');
        return this.setItems(this.peek(), items);
      }
      case 'ADDITEMS': {
        const items = this.popMark();
        return this.addItems(this.peek(), items);
      }
      case 'FROZENSET': {
        const items = this.popMark();
        this.hashAll(items);
        return this.push({ kind: 'set', frozen: true });
      }
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET': {
        const value = this.memo.get(Number(op.int ?? -1n));
        if (value === undefined) throw this.fail('pickle.memo_missing', `${op.name} ${op.int} reads a memo slot never set`);
        return this.push(value);
      }
      case 'PUT':
      case 'BINPUT':
      case 'LONG_BINPUT': {
        const index = op.int ?? -1n;
        if (index < 0n || index > 0xffffffffn) throw this.fail('pickle.bad_argument', `${op.name} ${index} is not a valid memo index`);
        return this.memoize(Number(index));
      }
      case 'MEMOIZE':
        // CPython stores at len(memo), which differs from the highest index once PUT has been used (PKL-A07).
        return this.memoize(this.memo.size);
      case 'GLOBAL':
        return this.push(this.importGlobal(op.module ?? '', op.attribute ?? ''));
      case 'STACK_GLOBAL': {
        const name = this.pop();
        const module = this.pop();
        if (module.kind !== 'str' || name.kind !== 'str') {
          if (module.kind === 'rejected' || name.kind === 'rejected') return this.push(REJECTED);
          throw this.fail('pickle.stack_global', `STACK_GLOBAL needs two str values, got ${describeKind(module)} and ${describeKind(name)}`);
        }
        return this.push(this.importGlobal(module.value, name.value));
      }
      case 'INST': {
        const callee = this.importGlobal(op.module ?? '', op.attribute ?? '');
        const args = this.popMark();
        return this.push(this.call(callee, this.tuple(args)));
      }
      case 'OBJ': {
        const items = this.popMark();
        const callee = items.shift();
        if (callee === undefined) throw this.fail('pickle.stack_underflow', 'OBJ without a class');
        return this.push(this.call(callee, this.tuple(items)));
      }
      case 'REDUCE': {
        const args = this.pop();
        const callee = this.pop();
        return this.push(this.call(callee, args));
      }
      case 'NEWOBJ': {
        const args = this.pop();
        const cls = this.pop();
        return this.push(this.newobj(cls, args, undefined));
      }
      case 'NEWOBJ_EX': {
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        return this.push(this.newobj(cls, args, kwargs));
      }
      case 'BUILD': {
        const state = this.pop();
        return this.build(this.peek(), state);
      }
      case 'PERSID':
        this.add({ verdict: 'unsafe', code: 'pickle.persistent_id', message: 'PERSID (text persistent id) is not allowed', requirement: 'PKL-R04', offset: op.offset });
        return this.push(REJECTED);
      case 'BINPERSID':
        return this.push(this.persistentLoad(this.pop()));
      case 'EXT1':
      case 'EXT2':
      case 'EXT4':
        this.add({
          verdict: 'unsafe',
          code: 'pickle.extension_import',
          message: `${op.name} ${op.int} imports through copyreg's extension registry`,
          requirement: 'PKL-R04',
          offset: op.offset,
        });
        return this.push(REJECTED);
      case 'NEXT_BUFFER':
        this.add({ verdict: 'unsafe', code: 'pickle.out_of_band_buffer', message: 'NEXT_BUFFER needs data the file cannot carry', requirement: 'PKL-R04', offset: op.offset });
        return this.push(REJECTED);
      case 'READONLY_BUFFER':
        this.add({ verdict: 'unsafe', code: 'pickle.out_of_band_buffer', message: 'READONLY_BUFFER is not allowed', requirement: 'PKL-R04', offset: op.offset });
        this.pop();
        return this.push(REJECTED);
      case 'STOP':
        return;
    }
  }

  private stop(): PValue {
    const root = this.pop();
    this.embed(root, 'root');
    for (const [dict, offset] of this.classKeyedDicts) {
      if (!this.callbacksDicts.has(dict)) this.misuse('the Lightning callback class keys a dict that is not under "callbacks"', offset);
    }
    return root;
  }

  private memoize(index: number): void {
    const top = this.peek();
    if (!this.memo.has(index) && this.memo.size >= this.limits.maxMemo) {
      throw this.fail('pickle.limit_memo', `more than ${this.limits.maxMemo} memo entries`);
    }
    this.memo.set(index, top);
  }

  // ---- values -----------------------------------------------------------------------------------------

  private tuple(items: PValue[]): PValue {
    let special = false;
    for (const item of items) {
      this.embed(item, 'tuple-item');
      if (item.kind === 'numpy-dtype') special = true;
    }
    return { kind: 'tuple', items, special };
  }

  /**
   * PKL-R07a: the Lightning class may only be a dict key, a numpy dtype only an item of `scalar`'s argument
   * tuple, and the numpy callables only be called. Any other place a value can flow into is checked here.
   */
  private embed(value: PValue, role: EmbedRole): void {
    if (value.kind === 'global' && value.ref.role !== 'allowed') {
      if (value.ref.role === 'lightning-class' && role === 'dict-key') return;
      this.misuse(`${value.ref.dotted} used as a ${role}`, this.op.offset);
    } else if (value.kind === 'numpy-dtype' && role !== 'tuple-item') {
      this.misuse(`a numpy dtype used as a ${role}`, this.op.offset);
    } else if (value.kind === 'tuple' && value.special) {
      this.misuse(`a numpy dtype tuple used as a ${role}`, this.op.offset);
    }
  }

  private misuse(message: string, offset: number): void {
    this.add({ verdict: 'unsafe', code: 'pickle.lightning_misuse', message: `${message}, outside the narrow PKL-R07a exception`, requirement: 'PKL-R07a', offset });
  }

  private checkImportCached(module: string, name: string): ImportCheck {
    const byModule = this.importChecks[this.protocol < 3 ? 0 : 1];
    let byName = byModule.get(module);
    if (byName === undefined) byModule.set(module, (byName = new Map()));
    let check = byName.get(name);
    if (check === undefined) byName.set(name, (check = checkImport({ module, name, protocol: this.protocol })));
    return check;
  }

  private importGlobal(module: string, name: string): PValue {
    const check = this.checkImportCached(module, name);
    if (check.role === undefined) {
      this.add({
        verdict: 'unsafe',
        code: 'pickle.global_not_allowed',
        message: check.label === undefined ? `non-allowlisted global ${check.dotted}` : `contains ${check.label} (non-allowlisted global ${check.dotted})`,
        requirement: 'PKL-R07',
        offset: this.op.offset,
        global: check.dotted,
        ...(check.label === undefined ? {} : { label: check.label }),
      });
      return REJECTED;
    }
    const ref: GlobalRef = { module: check.module, name: check.name, dotted: check.dotted, role: check.role };
    if (check.role !== 'allowed' && !this.warnedGlobals.has(check.dotted)) {
      this.warnedGlobals.add(check.dotted);
      this.warn({
        code: 'pickle.lightning_exception',
        message: `${check.dotted} accepted under the Lightning-checkpoint exception (PKL-R07a); it is never imported`,
        offset: this.op.offset,
        global: check.dotted,
      });
    }
    return { kind: 'global', ref };
  }

  private argsOf(args: PValue): PValue[] | undefined {
    if (args.kind === 'tuple' || args.kind === 'list') return args.items;
    if (args.kind === 'rejected') return undefined;
    throw this.fail('pickle.bad_arguments', `call arguments are a ${describeKind(args)}, not a tuple`);
  }

  private call(callee: PValue, argsValue: PValue): PValue {
    const args = this.argsOf(argsValue);
    if (callee.kind === 'rejected' || args === undefined) return REJECTED;
    if (callee.kind !== 'global') {
      this.add({ verdict: 'unsafe', code: 'pickle.call_not_allowed', message: `${this.op.name} calls a ${describeKind(callee)}`, requirement: 'PKL-R08', offset: this.op.offset });
      return REJECTED;
    }
    const ref = callee.ref;
    const special = argsValue.kind === 'tuple' && argsValue.special;
    if (ref.role === 'numpy-dtype') {
      const [code, align, copy] = args;
      if (args.length === 3 && code?.kind === 'str' && /^[<>|=]?[biuf]\d{1,2}$/.test(code.value) && align?.kind === 'bool' && copy?.kind === 'bool') {
        return { kind: 'numpy-dtype', code: code.value };
      }
      this.misuse(`${ref.dotted} called with other than (code, bool, bool)`, this.op.offset);
      return REJECTED;
    }
    if (ref.role === 'numpy-scalar') {
      const [dtype, data] = args;
      if (special && args.length === 2 && dtype?.kind === 'numpy-dtype' && data?.kind === 'bytes' && !data.mutable) {
        return { kind: 'numpy-scalar', code: dtype.code, bytes: data.value };
      }
      this.misuse(`${ref.dotted} called with other than (numpy dtype, bytes)`, this.op.offset);
      return REJECTED;
    }
    if (ref.role === 'lightning-class') {
      this.misuse(`${ref.dotted} called`, this.op.offset);
      return REJECTED;
    }
    if (special) {
      this.misuse(`a numpy dtype passed to ${ref.dotted}`, this.op.offset);
      return REJECTED;
    }
    return applyAllowedCall({ callee: ref, args, offset: this.op.offset, reporter: this });
  }

  private newobj(cls: PValue, argsValue: PValue, kwargs: PValue | undefined): PValue {
    const args = this.argsOf(argsValue);
    if (cls.kind === 'rejected' || args === undefined || kwargs?.kind === 'rejected') return REJECTED;
    if (cls.kind !== 'global' || cls.ref.role !== 'allowed') {
      if (cls.kind === 'global') this.misuse(`${cls.ref.dotted} instantiated`, this.op.offset);
      else this.add({ verdict: 'unsafe', code: 'pickle.newobj_not_allowed', message: `${this.op.name} on a ${describeKind(cls)}`, requirement: 'PKL-R08', offset: this.op.offset });
      return REJECTED;
    }
    if (kwargs !== undefined && !(kwargs.kind === 'dict' && kwargs.entries.size === 0)) {
      this.add({ verdict: 'unsupported', code: 'pickle.newobj_unsupported', message: 'NEWOBJ_EX with keyword arguments', offset: this.op.offset });
      return REJECTED;
    }
    return applyAllowedNewobj({ cls: cls.ref, args, offset: this.op.offset, reporter: this });
  }

  private build(target: PValue, state: PValue): void {
    this.embed(state, 'state');
    if (target.kind === 'rejected' || state.kind === 'rejected') return;
    switch (target.kind) {
      case 'dict':
        if (target.flavor === 'dict') break;
        // OrderedDict.__dict__.update(state): how `state_dict()` carries `_metadata`.
        if (state.kind !== 'dict') throw this.fail('pickle.build_state', `BUILD on ${target.flavor} with a ${describeKind(state)} state`);
        return;
      case 'numpy-dtype':
        if (state.kind === 'tuple') return;
        this.misuse('a numpy dtype built from a non-tuple state', this.op.offset);
        return;
      case 'object':
        return;
      case 'tensor':
        this.add({ verdict: 'unsupported', code: 'pickle.build_tensor', message: 'BUILD on a tensor (legacy tensor state) is not supported by the reader', offset: this.op.offset });
        return;
      default:
        break;
    }
    this.add({ verdict: 'unsafe', code: 'pickle.build_not_allowed', message: `BUILD on a ${describeKind(target)}`, requirement: 'PKL-R08', offset: this.op.offset });
  }

  private append(target: PValue, items: PValue[]): void {
    if (target.kind === 'rejected') return;
    if (target.kind !== 'list') {
      this.add({ verdict: 'unsafe', code: 'pickle.append_not_allowed', message: `${this.op.name} on a ${describeKind(target)}`, requirement: 'PKL-R08', offset: this.op.offset });
      return;
    }
    for (const item of items) {
      this.embed(item, 'list-item');
      target.items.push(item);
    }
  }

  private setItems(target: PValue, items: PValue[]): void {
    if (target.kind === 'rejected') return;
    if (target.kind !== 'dict') {
      this.add({ verdict: 'unsafe', code: 'pickle.setitem_not_allowed', message: `${this.op.name} on a ${describeKind(target)}`, requirement: 'PKL-R08', offset: this.op.offset });
      return;
    }
    for (let i = 0; i < items.length; i += 2) this.setItem(target, items[i] as PValue, items[i + 1] as PValue);
  }

  private setItem(dict: PValue & { kind: 'dict' }, key: PValue, value: PValue): void {
    this.embed(key, 'dict-key');
    this.embed(value, 'dict-value');
    const hash = dictKey(key, this.meter, this.op.offset);
    if (hash === undefined) throw this.fail('pickle.unhashable_key', `a ${describeKind(key)} used as a dict key`);
    const existing: DictEntry | undefined = dict.entries.get(hash);
    dict.entries.set(hash, { key: existing?.key ?? key, value });
    if (key.kind === 'global' && key.ref.role === 'lightning-class' && !this.classKeyedDicts.has(dict)) this.classKeyedDicts.set(dict, this.op.offset);
    if (key.kind === 'str' && key.value === 'callbacks' && value.kind === 'dict') this.callbacksDicts.add(value);
  }

  private addItems(target: PValue, items: PValue[]): void {
    if (target.kind === 'rejected') return;
    if (target.kind !== 'set' || target.frozen) {
      this.add({ verdict: 'unsafe', code: 'pickle.additems_not_allowed', message: `ADDITEMS on a ${describeKind(target)}`, requirement: 'PKL-R08', offset: this.op.offset });
      return;
    }
    this.hashAll(items);
  }

  private hashAll(items: PValue[]): void {
    for (const item of items) {
      this.embed(item, 'set-item');
      if (dictKey(item, this.meter, this.op.offset) === undefined) throw this.fail('pickle.unhashable_key', `a ${describeKind(item)} in a set`);
    }
  }

  // ---- persistent ids (PKL-R09) -----------------------------------------------------------------------

  private persistentLoad(pid: PValue): PValue {
    this.embed(pid, 'pid');
    if (pid.kind === 'rejected') return REJECTED;
    if (this.dialect === 'raw') {
      this.add({ verdict: 'unsafe', code: 'pickle.persistent_id', message: 'a persistent id outside a torch checkpoint', requirement: 'PKL-R04', offset: this.op.offset });
      return REJECTED;
    }
    const width = this.dialect === 'torch-zip' ? 5 : 6;
    const bad = (why: string): PValue => {
      this.add({ verdict: 'invalid', code: 'storage.bad_pid', message: `persistent id ${why}`, requirement: 'PKL-R09', offset: this.op.offset });
      return REJECTED;
    };
    if (pid.kind !== 'tuple' || pid.items.length !== width) return bad(`is not a ${width}-tuple`);
    const [tag, cls, key, location, numel, view] = pid.items;
    if (tag?.kind !== 'str' || tag.value !== 'storage') return bad('is not a ("storage", …) tuple');
    if (cls?.kind === 'rejected' || key?.kind === 'rejected') return REJECTED;
    const info = cls?.kind === 'global' && cls.ref.role === 'allowed' ? storageClassInfo(cls.ref.module, cls.ref.name) : undefined;
    if (cls?.kind !== 'global' || info === undefined) return bad('names no allowed storage class');
    if (key?.kind !== 'str' || !STORAGE_KEY.test(key.value)) return bad('has a key that is not a decimal string');
    if (location?.kind !== 'str' || !LOCATION.test(location.value)) return bad(`has an unknown location`);
    if (numel?.kind !== 'int' || numel.value < 0n || numel.value > BigInt(Number.MAX_SAFE_INTEGER)) return bad('has a bad element count');
    if (width === 6 && view?.kind !== 'none') return bad('is a legacy storage view (view_metadata), which is not supported');
    const storage: StorageRef = {
      key: key.value,
      storageClass: cls.ref.dotted,
      dtype: info.dtype,
      elementSize: info.elementSize,
      numel: numel.value,
      location: location.value,
    };
    const known = this.storages.get(storage.key);
    if (known === undefined) {
      this.storages.set(storage.key, storage);
      return { kind: 'storage', storage };
    }
    if (known.storageClass !== storage.storageClass || known.numel !== storage.numel) {
      return bad(`repeats key "${storage.key}" with another class or size`);
    }
    return { kind: 'storage', storage: known };
  }
}
