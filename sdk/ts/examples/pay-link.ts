// A wallet pays a payment link (e.g. a ₩500 coffee) and proves it was paid: the README's example.
import { readFileSync } from 'node:fs';
import { JeonClient, Keypair, calls, parseGenesis, signTx, verifyInvoice } from '../src/index.js';

export async function payLink(api: string, keyFile: string, genesisFile: string, link: string) {
  const node = new JeonClient(api);
  const me = Keypair.fromKeyFile(readFileSync(keyFile, 'utf8'));
  const genesis = parseGenesis(readFileSync(genesisFile, 'utf8'));
  const { invoice, signature } = await node.resolveLink(link); // jeon:pay?to=…&amount=500.00&asset=KRW…
  if (verifyInvoice(invoice, genesis.chainId, signature)) throw new Error('not signed by the merchant');
  const tx = signTx(await node.prepareTx(me, calls.payInvoice({ invoice, signature })), me);
  const dry = await node.simulate(tx); // paid already? expired? too little money? then no fee is spent
  if (dry.status !== 'success') throw new Error(`would fail: ${dry.error?.code}`);
  await node.submitAndWait(tx); // follows the event stream until final
  const proof = await node.verifiedProof(dry.hash, genesis); // checked against genesis.json alone
  if (!proof.succeeded) throw new Error(`payment failed: ${JSON.stringify(proof.outcome)}`);
  return proof;
}
