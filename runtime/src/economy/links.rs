//! Payment links: paying a merchant-signed invoice, at most once and before expiry.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::crypto::Signature;
use crate::economy::ledger::{get, positive, CallCx, Res};
use crate::economy::pay::move_money;
use crate::events::EventDef;
use crate::invoice::{Invoice, MEMO_BYTES_MAX};
use crate::model::{CallError, Event};
use crate::state::{Overlay, StateError, StateRead};
use crate::types::{Address, Amount, AssetId, Height};

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{with, PAID_INVOICE};
    use crate::types::Address;

    /// Key of a paid invoice.
    pub fn paid_invoice(merchant: &Address, invoice_id: u64) -> Vec<u8> {
        with(PAID_INVOICE, &[&merchant.0, &invoice_id.to_be_bytes()])
    }
}

// ---------------------------------------------------------------- calls

/// Pay a merchant-signed invoice (a payment link), at most once and before expiry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PayInvoice {
    /// The invoice, as the merchant signed it.
    pub invoice: Invoice,
    /// The merchant's signature over [`Invoice::signing_bytes`].
    pub signature: Signature,
}

// --------------------------------------------------------------- events

/// A payer paid a merchant-signed invoice (with `Paid` and `TaxWithheld` before it
/// when the merchant is a merchant partner and the asset money, else `Transferred`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct InvoicePaid {
    /// Who paid.
    pub payer: Address,
    /// The merchant that signed the invoice.
    pub merchant: Address,
    /// The asset.
    pub asset: AssetId,
    /// Units paid.
    pub amount: Amount,
    /// The merchant's invoice id.
    pub invoice_id: u64,
}

impl EventDef for InvoicePaid {
    fn accounts(&self) -> Vec<Address> {
        vec![self.payer, self.merchant]
    }
}

impl CallDef for PayInvoice {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        pay_invoice(ov, cx, &self.invoice, &self.signature, events)
    }

    fn summary(&self) -> String {
        let i = &self.invoice;
        format!(
            "pay invoice {} of {} units of asset {} to {}",
            i.invoice_id, i.amount, i.asset, i.merchant
        )
    }

    fn addressee<S: StateRead + ?Sized>(&self, _state: &S) -> Result<Option<Address>, StateError> {
        Ok(Some(self.invoice.merchant))
    }
}

/// `PayInvoice`: checks the merchant's signature, the expiry and that the invoice is
/// unpaid, in that order; then records it paid and moves the units from the sender.
fn pay_invoice<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    invoice: &Invoice,
    signature: &Signature,
    events: &mut Vec<Event>,
) -> Res<()> {
    let (merchant, invoice_id) = (invoice.merchant, invoice.invoice_id);
    if invoice.verify(&cx.chain_id, signature).is_err() {
        return Err(CallError::BadInvoiceSignature {
            merchant,
            invoice_id,
        }
        .into());
    }
    if cx.height > invoice.expires_at {
        return Err(CallError::InvoiceExpired {
            invoice_id,
            expires_at: invoice.expires_at,
            height: cx.height,
        }
        .into());
    }
    let paid_key = storage::paid_invoice(&merchant, invoice_id);
    if let Some(paid_at) = get::<Height, _>(ov, &paid_key)? {
        return Err(CallError::InvoiceAlreadyPaid {
            merchant,
            invoice_id,
            paid_at,
        }
        .into());
    }
    let memo_len = invoice.memo.as_ref().map_or(0, Vec::len);
    if memo_len > MEMO_BYTES_MAX {
        return Err(CallError::TextTooLong {
            len: memo_len,
            max: MEMO_BYTES_MAX,
        }
        .into());
    }
    positive(invoice.amount)?;
    if merchant == cx.sender {
        return Err(CallError::SelfPayment.into());
    }
    ov.put(paid_key, &cx.height)?;
    let reference = format!("invoice {invoice_id}");
    move_money(
        ov,
        cx,
        &merchant,
        invoice.asset,
        invoice.amount,
        &reference,
        events,
    )?;
    events.push(Event::InvoicePaid(InvoicePaid {
        payer: cx.sender,
        merchant,
        asset: invoice.asset,
        amount: invoice.amount,
        invoice_id,
    }));
    Ok(())
}
