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

/** A short "between 1 and 512" hint for a numeric field, or ''. */
export function rangeHint(field) {
  const lo = field.min ?? field.exclusiveMin;
  const hi = field.max ?? field.exclusiveMax;
  if (lo !== undefined && hi !== undefined) return `from ${lo} to ${hi}`;
  if (lo !== undefined) return `at least ${lo}`;
  if (hi !== undefined) return `at most ${hi}`;
  return '';
}

/** A local check of a typed number against the schema; returns a message or ''. */
export function checkNumber(field, value) {
  if (field.kind === 'integer' && !Number.isInteger(value)) return 'Enter a whole number.';
  if (field.min !== undefined && value < field.min) return `Must be at least ${field.min}.`;
  if (field.max !== undefined && value > field.max) return `Must be at most ${field.max}.`;
  if (field.exclusiveMin !== undefined && value <= field.exclusiveMin) {
    return `Must be more than ${field.exclusiveMin}.`;
  }
  if (field.exclusiveMax !== undefined && value >= field.exclusiveMax) {
    return `Must be less than ${field.exclusiveMax}.`;
  }
  return '';
}
