// meterflow's search attributes on a namespace: which are missing, and registering them (meterflow setup).
// A run on a namespace without them fails every workflow task (BadSearchAttributes), so workers and
// `meterflow run` check first and stop with a message instead of waiting for ever.
import { temporal } from '@temporalio/proto';
import { SearchAttributesMissingError } from '../errors';
import { METERFLOW_SEARCH_ATTRIBUTES } from '../contract/run';

type IndexedValueType = temporal.api.enums.v1.IndexedValueType;

/** The operator service of a client Connection or a worker NativeConnection. */
export interface SearchAttributeService {
  listSearchAttributes(
    request: temporal.api.operatorservice.v1.IListSearchAttributesRequest,
  ): Promise<temporal.api.operatorservice.v1.IListSearchAttributesResponse>;
  addSearchAttributes(
    request: temporal.api.operatorservice.v1.IAddSearchAttributesRequest,
  ): Promise<temporal.api.operatorservice.v1.IAddSearchAttributesResponse>;
}

const { IndexedValueType: Indexed } = temporal.api.enums.v1;

const INDEXED_TYPES: Record<string, { readonly indexed: IndexedValueType; readonly label: string }> = {
  KEYWORD: { indexed: Indexed.INDEXED_VALUE_TYPE_KEYWORD, label: 'Keyword' },
  DATETIME: { indexed: Indexed.INDEXED_VALUE_TYPE_DATETIME, label: 'Datetime' },
  KEYWORD_LIST: { indexed: Indexed.INDEXED_VALUE_TYPE_KEYWORD_LIST, label: 'KeywordList' },
};

function typeOf(key: (typeof METERFLOW_SEARCH_ATTRIBUTES)[number]): { readonly indexed: IndexedValueType; readonly label: string } {
  const type = INDEXED_TYPES[key.type];
  if (!type) throw new Error(`search attribute ${key.name}: no indexed type for ${key.type}`);
  return type;
}

/** gRPC codes meaning "this caller may not ask": Temporal Cloud's operator API, a key without admin rights. */
const GRPC_UNIMPLEMENTED = 12;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

/**
 * meterflow's search attributes that the namespace lacks (or has with another type), as `Name (Type)`;
 * undefined when the server will not say (no permission to list them): then nothing is known.
 */
export async function missingSearchAttributes(service: SearchAttributeService, namespace: string): Promise<string[] | undefined> {
  let registered: Record<string, IndexedValueType>;
  try {
    registered = (await service.listSearchAttributes({ namespace })).customAttributes ?? {};
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === GRPC_UNIMPLEMENTED || code === GRPC_PERMISSION_DENIED || code === GRPC_UNAUTHENTICATED) return undefined;
    throw err;
  }
  return METERFLOW_SEARCH_ATTRIBUTES.filter((key) => registered[key.name] !== typeOf(key).indexed).map(
    (key) => `${key.name} (${typeOf(key).label})`,
  );
}

/** Throws a SearchAttributesMissingError naming the missing attributes and `meterflow setup`; passes when the server will not say. */
export async function requireSearchAttributes(service: SearchAttributeService, namespace: string, address?: string): Promise<void> {
  const missing = await missingSearchAttributes(service, namespace);
  if (!missing?.length) return;
  const variables = `TEMPORAL_ADDRESS=${address ?? '<host:port>'}${namespace === 'default' ? '' : ` TEMPORAL_NAMESPACE=${namespace}`}`;
  throw new SearchAttributesMissingError(
    `namespace ${namespace}${address ? ` at ${address}` : ''} lacks meterflow's search attributes ${missing.join(', ')}: ` +
      `register them once with ${variables} meterflow setup (or temporal operator search-attribute create)`,
    namespace,
    missing,
  );
}

/** Register meterflow's search attributes in a namespace (`meterflow setup`; the embedded server does it at start). */
export async function addSearchAttributes(service: SearchAttributeService, namespace: string): Promise<void> {
  const searchAttributes = Object.fromEntries(METERFLOW_SEARCH_ATTRIBUTES.map((key) => [key.name, typeOf(key).indexed]));
  await service.addSearchAttributes({ namespace, searchAttributes });
}
