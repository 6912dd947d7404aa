/** Jeon's TypeScript SDK: keys, addresses, transactions, payment links, proofs, and a client. */

export { ADDRESS_HRP, AddressError, decodeAddress, encodeAddress, isAddress } from './address.js';
export { CodecError, concat, equal, fromHex, toHex } from './bytes.js';
export { decode, encode, fromJson, toJson, type Schema } from './codec.js';
export { sha256, verifySignature, type SignatureFault } from './crypto.js';
export { parseGenesis, type Genesis } from './genesis.js';
export {
  INVOICE_BYTES_MAX,
  LinkError,
  MEMO_BYTES_MAX,
  encodeInvoice,
  invoiceSigningBytes,
  formatDecimal,
  makeInvoice,
  makeLink,
  makeReadableLink,
  parseAnyLink,
  parseDecimal,
  parseLink,
  readableLinkInvoice,
  signInvoice,
  signLink,
  signReadableLink,
  verifyInvoice,
  type AnyLink,
  type Invoice,
  type ReadableLink,
} from './invoice.js';
export { KeyFileError, Keypair } from './keys.js';
export {
  MEMO_DOMAIN,
  MemoError,
  SEALED_MEMO_OVERHEAD,
  SEALED_MEMO_VERSION,
  SEALED_PLAINTEXT_MAX,
  isSealed,
  openMemo,
  sealMemo,
} from './memo.js';
export {
  PROOF_BYTES_MAX,
  ProofError,
  decodeProof,
  encodeProof,
  headerHash,
  rootFromPath,
  validatorsHash,
  verifiedToJson,
  verifyCertificate,
  verifyProof,
  verifyProofBytes,
  type TxProof,
  type ValidatorInfo,
  type Verified,
} from './proof.js';
export {
  AccessError,
  accessSigningBytes,
  appHashOf,
  decodeAccessProof,
  decodeStateProof,
  encodeAccessProof,
  encodeStateProof,
  smtInner,
  smtLeaf,
  smtRootFromPath,
  verifyAccess,
  verifyState,
  type AccessPolicy,
  type AccessProof,
  type Entitlement,
  type StateProof,
  type StateVerified,
} from './access.js';
export { certifiedSet } from './proof.js';
export * as schemas from './schemas.js';
export { summarize } from './summary.js';
export {
  PAYER_DOMAIN,
  TX_BYTES_MAX,
  TX_DOMAIN,
  bodyFromJson,
  bodyToJson,
  buildTx,
  calls,
  cosignTx,
  decodeTx,
  encodeBody,
  encodeTx,
  payerSigningBytes,
  signTx,
  signingBytes,
  txHash,
  verifyTx,
  type Call,
  type SignedTx,
  type TxBody,
  type TxParams,
} from './tx.js';
export {
  ApiError,
  JeonClient,
  isTerminal,
  type Account,
  type ChainEvent,
  type ChainStatus,
  type EventsOptions,
  type SimulateAnswer,
  type AccountSponsorships,
  type FeeQuote,
  type TxStatus,
  type WaitOptions,
} from './client.js';
