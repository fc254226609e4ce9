// Reading the JSON schemas the server publishes (pydantic's model_json_schema) into simple
// field descriptions that forms can render. Nothing here knows any layer or dataset type.

function resolve(node, root) {
  let n = node || {};
  for (let guard = 0; guard < 8; guard += 1) {
    if (n.$ref) {
      const name = n.$ref.split('/').pop();
      const target = (root.$defs || root.definitions || {})[name] || {};
      const { $ref, ...rest } = n;
      n = { ...target, ...rest };
    } else if (Array.isArray(n.allOf) && n.allOf.length === 1) {
      const { allOf, ...rest } = n;
      n = { ...resolve(allOf[0], root), ...rest };
    } else {
      break;
    }
  }
  return n;
}

/** "kernel_size" -> "Kernel size". */
export function humanize(name) {
  const text = String(name).replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The fields of an object schema, in order:
 * {name, title, description, kind, enum, min, max, exclusiveMin, exclusiveMax, nullable,
 *  default, itemKind}. kind is one of number | integer | boolean | enum | multienum | list |
 * text | json.
 */
export function fieldsOf(schema) {
  if (!schema || typeof schema !== 'object') return [];
  const root = schema;
  const props = resolve(schema, root).properties || {};
  return Object.entries(props).map(([name, raw]) => describeField(name, raw, root));
}

function describeField(name, raw, root) {
  let node = resolve(raw, root);
  let nullable = false;
  const options = node.anyOf || node.oneOf;
  if (Array.isArray(options)) {
    const nonNull = options.map((o) => resolve(o, root)).filter((o) => o.type !== 'null');
    nullable = nonNull.length < options.length;
    const { anyOf, oneOf, ...rest } = node;
    node = { ...(nonNull[0] || {}), ...rest };
  }
  let type = node.type;
  if (Array.isArray(type)) {
    nullable = nullable || type.includes('null');
    type = type.find((t) => t !== 'null');
  }
  const field = {
    name,
    title: node.title && node.title !== name ? node.title : humanize(name),
    description: node.description || '',
    nullable,
    default: raw.default !== undefined ? raw.default : node.default,
    min: node.minimum,
    max: node.maximum,
    exclusiveMin: node.exclusiveMinimum,
    exclusiveMax: node.exclusiveMaximum,
    enum: null,
    kind: 'text',
  };
  if (Array.isArray(node.enum)) {
    field.kind = 'enum';
    field.enum = node.enum;
  } else if (node.const !== undefined) {
    field.kind = 'enum';
    field.enum = [node.const];
  } else if (type === 'integer' || type === 'number') {
    field.kind = type;
  } else if (type === 'boolean') {
    field.kind = 'boolean';
  } else if (type === 'array') {
    const items = resolve(node.items || (node.prefixItems || [])[0] || {}, root);
    if (Array.isArray(items.enum)) {
      field.kind = 'multienum';
      field.enum = items.enum;
    } else {
      field.kind = 'list';
      field.itemKind = items.type === 'number' ? 'number' : items.type === 'integer' ? 'integer' : 'text';
    }
  } else if (type === 'string') {
    field.kind = 'text';
  } else if (type === 'object') {
    field.kind = 'json';
  }
  return field;
}

const num = (v) => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 6 }) : String(v));

/** What a numeric field allows, in words: "from 1 to 512", "more than 0 and at most 10", or ''. */
export function rangeHint(field) {
  const lower = field.min !== undefined ? `at least ${num(field.min)}` : field.exclusiveMin !== undefined ? `more than ${num(field.exclusiveMin)}` : '';
  const upper = field.max !== undefined ? `at most ${num(field.max)}` : field.exclusiveMax !== undefined ? `less than ${num(field.exclusiveMax)}` : '';
  if (field.min !== undefined && field.max !== undefined) return `from ${num(field.min)} to ${num(field.max)}`;
  return [lower, upper].filter(Boolean).join(' and ');
}

/** What the field allows as one sentence: "Units: a whole number from 1 to 100,000." */
export function allowedSentence(field) {
  const what = field.kind === 'integer' ? 'a whole number' : 'a number';
  const range = rangeHint(field);
  return `${field.title}: ${what}${range ? ` ${range}` : ''}.`;
}

/** A local check of a typed number against the schema; returns a sentence or ''. */
export function checkNumber(field, value) {
  const bad =
    (field.kind === 'integer' && !Number.isInteger(value)) ||
    (field.min !== undefined && value < field.min) ||
    (field.max !== undefined && value > field.max) ||
    (field.exclusiveMin !== undefined && value <= field.exclusiveMin) ||
    (field.exclusiveMax !== undefined && value >= field.exclusiveMax);
  if (!bad) return '';
  const what = field.kind === 'integer' ? 'a whole number' : 'a number';
  const range = rangeHint(field);
  return `${field.title} must be ${what}${range ? ` ${range}` : ''}, not ${num(value)}.`;
}

/**
 * A validator's message as a sentence about the field: pydantic's "Input should be less than
 * or equal to 100000" on `units` becomes "Units must be at most 100,000."
 */
export function sentence(fieldName, msg) {
  const name = fieldName ? humanize(fieldName) : 'This value';
  let text = String(msg || '').trim();
  const bound = (re, words) => {
    const m = text.match(re);
    return m ? `${name} must be ${words} ${num(Number(m[1]))}.` : null;
  };
  const rules = [
    bound(/^Input should be less than or equal to (-?[\d.e+-]+)/i, 'at most'),
    bound(/^Input should be greater than or equal to (-?[\d.e+-]+)/i, 'at least'),
    bound(/^Input should be greater than (-?[\d.e+-]+)/i, 'more than'),
    bound(/^Input should be less than (-?[\d.e+-]+)/i, 'less than'),
  ];
  const found = rules.find(Boolean);
  if (found) return found;
  if (/^Input should be a valid integer/i.test(text)) return `${name} must be a whole number.`;
  if (/^Input should be a valid (number|float)/i.test(text)) return `${name} must be a number.`;
  if (/^Input should be a valid boolean/i.test(text)) return `${name} must be on or off.`;
  if (/^Field required/i.test(text)) return `${name} is needed.`;
  if (/^Extra inputs are not permitted/i.test(text)) return `${name} is not a setting here.`;
  const choice = text.match(/^Input should be (.+)$/i);
  if (choice) return `${name} must be ${choice[1].replace(/'/g, '')}.`;
  text = text.replace(/^Value error, /i, '');
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
