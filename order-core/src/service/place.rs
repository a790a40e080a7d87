//! Placing orders: validation, catalog, customer, pricing, stock, and the
//! idempotency that makes a retried placement return the first answer.

use super::pricing::{LineDraft, sellable};
use super::stock::StockChange;
use super::{OrderService, PlaceOrder, StockKeeping};
use crate::error::{OrderError, OrderRef, PortError, RuleViolation, StoreError, ValidationError};
use crate::event::{EventRecord, OrderEvent, Placed};
use crate::id::{EventId, LineId, OrderId};
use crate::money::Money;
use crate::order::{Order, ProductKind};
use crate::ports::{Change, IdempotencyClaim, IdempotencyKey, ProductKey, StockEffect};
use crate::retry::with_retry;
use crate::text::Actor;

impl OrderService {
    /// Places an order: validate → catalog → customer → price → reserve →
    /// persist. With an idempotency key, a retry of the same request returns
    /// the first answer (the order as it was placed); the key with another
    /// request is refused. Keys are scoped to the ordering customer
    /// ([`IdempotencyKey::scoped_to`]): another customer's use of the same
    /// key is another request, with its own order.
    ///
    /// A placement that fails before its commit wrote nothing, so its key is
    /// released at once and a retry runs again. When the commit itself fails
    /// in a way that may or may not have written (the store unreachable, an
    /// opaque backend error), the key is looked up: completed means the order
    /// was placed, and it is the answer; still ours and in flight means
    /// nothing was written (the key completes in the same transaction as the
    /// order), and it is released; no answer at all leaves the key held, so a
    /// retry waits for the lease rather than risk placing the order twice.
    ///
    /// # Errors
    /// Validation and rule errors naming the field; [`OrderError::OutOfStock`]
    /// with per-SKU detail (nothing persisted);
    /// [`OrderError::IdempotencyKeyReused`] / [`OrderError::IdempotencyInFlight`];
    /// [`OrderError::Unavailable`] when a port cannot answer.
    pub async fn place(
        &self,
        request: PlaceOrder,
        idempotency_key: Option<&IdempotencyKey>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        self.check_structure(&request)?;
        let Some(key) = idempotency_key else {
            return self.place_claimed(&request, None, actor).await;
        };
        let scoped = key.scoped_to(request.customer_id);
        let store = &self.ports.store;
        let fingerprint = request.fingerprint();
        let mut waited = std::time::Duration::ZERO;
        let mut pause = std::time::Duration::from_millis(5);
        loop {
            match store
                .claim_idempotency_key(
                    &scoped,
                    &fingerprint,
                    self.now(),
                    self.config.idempotency_lease,
                )
                .await?
            {
                IdempotencyClaim::Claimed => break,
                IdempotencyClaim::Completed { order_id } => {
                    return self.first_answer(order_id).await;
                }
                IdempotencyClaim::Mismatch => {
                    return Err(OrderError::IdempotencyKeyReused {
                        key: key.as_str().to_owned(),
                    });
                }
                // The same request is running elsewhere: wait for its answer
                // rather than fail, within bounds.
                IdempotencyClaim::InFlight if waited < self.config.idempotency_wait => {
                    self.ports.timer.sleep(pause).await;
                    waited += pause;
                    pause = (pause * 2).min(std::time::Duration::from_millis(200));
                }
                IdempotencyClaim::InFlight => {
                    return Err(OrderError::IdempotencyInFlight {
                        key: key.as_str().to_owned(),
                    });
                }
            }
        }
        let err = match self.place_claimed(&request, Some(&scoped), actor).await {
            Ok(order) => return Ok(order),
            Err(err) => err,
        };
        let may_have_written = matches!(
            err,
            OrderError::Store(StoreError::Unavailable(_) | StoreError::Backend(_))
        );
        if may_have_written {
            // Only the commit reaches the store with an order: ask the key
            // what became of it.
            match store
                .claim_idempotency_key(
                    &scoped,
                    &fingerprint,
                    self.now(),
                    self.config.idempotency_lease,
                )
                .await
            {
                Ok(IdempotencyClaim::Completed { order_id }) => {
                    return self.first_answer(order_id).await;
                }
                Ok(IdempotencyClaim::InFlight | IdempotencyClaim::Claimed) => {}
                // Unknown (or no longer ours): leave the key to its lease.
                Ok(IdempotencyClaim::Mismatch) | Err(_) => return Err(err),
            }
        }
        self.release_key(&scoped).await;
        Err(err)
    }

    /// Gives up a claim that wrote nothing, so a retry may run at once;
    /// retried like a port call, and left to its lease if the store cannot
    /// be reached.
    async fn release_key(&self, key: &IdempotencyKey) {
        let store = &self.ports.store;
        let _ = with_retry(&self.config.retry, self.ports.timer.as_ref(), || async {
            store
                .release_idempotency_key(key)
                .await
                .map_err(|err| match err {
                    StoreError::Unavailable(source) => PortError::Unavailable(source.to_string()),
                    other => PortError::Refused(other.to_string()),
                })
        })
        .await;
    }

    /// The order as its first event made it.
    async fn first_answer(&self, order_id: OrderId) -> Result<Order, OrderError> {
        let events = self.ports.store.events(order_id).await?;
        events
            .first()
            .and_then(Order::placed)
            .ok_or(OrderError::NotFound(OrderRef::Id(order_id)))
    }

    fn check_structure(&self, request: &PlaceOrder) -> Result<(), ValidationError> {
        if request.lines.is_empty() {
            return Err(ValidationError::NoLines);
        }
        if request.lines.len() > self.config.max_lines {
            return Err(ValidationError::TooManyLines {
                max: self.config.max_lines,
                len: request.lines.len(),
            });
        }
        for (index, line) in request.lines.iter().enumerate() {
            let earlier = &request.lines[..index];
            if earlier
                .iter()
                .any(|l| l.product_id == line.product_id && l.variant_id == line.variant_id)
            {
                return Err(ValidationError::DuplicateLine {
                    index,
                    product_id: line.product_id,
                });
            }
            if let Some(expected) = line.expected_unit_price
                && expected.currency() != request.currency
            {
                return Err(ValidationError::MixedCurrencies {
                    index,
                    expected: request.currency,
                    found: expected.currency(),
                });
            }
        }
        Ok(())
    }

    async fn place_claimed(
        &self,
        request: &PlaceOrder,
        key: Option<&IdempotencyKey>,
        actor: &Actor,
    ) -> Result<Order, OrderError> {
        let keys: Vec<ProductKey> = request
            .lines
            .iter()
            .map(|l| ProductKey {
                product_id: l.product_id,
                variant_id: l.variant_id,
            })
            .collect();
        let products = self.lookup_products(&keys).await?;
        let mut drafts = Vec::with_capacity(request.lines.len());
        for (index, line) in request.lines.iter().enumerate() {
            let key = ProductKey {
                product_id: line.product_id,
                variant_id: line.variant_id,
            };
            let product = sellable(&products, index, key, request.currency)?;
            if let Some(expected) = line.expected_unit_price
                && expected != product.unit_price
            {
                return Err(RuleViolation::PriceChanged {
                    index,
                    sku: product.sku.clone(),
                    expected,
                    actual: product.unit_price,
                }
                .into());
            }
            drafts.push(LineDraft {
                id: self.mint(LineId::new)?,
                product: product.clone(),
                quantity: line.quantity,
            });
        }
        let needs_shipping = drafts
            .iter()
            .any(|d| d.product.kind == ProductKind::Physical);
        if needs_shipping && request.shipping_address.is_none() {
            return Err(ValidationError::ShippingAddressRequired.into());
        }
        if needs_shipping && request.shipping_method.is_none() {
            return Err(ValidationError::ShippingMethodRequired.into());
        }

        let customers = &self.ports.customers;
        let known = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            customers.exists(request.customer_id)
        })
        .await
        .map_err(|source| OrderError::Unavailable {
            port: "customers",
            source,
        })?;
        if !known {
            return Err(RuleViolation::UnknownCustomer.into());
        }

        let discount = match &request.coupon {
            None => None,
            Some(code) => {
                let gross: Vec<Money> = drafts
                    .iter()
                    .map(|d| d.product.unit_price.checked_mul(d.quantity.get()))
                    .collect::<Result<_, _>>()?;
                let subtotal = Money::sum(request.currency, &gross)?;
                let policy = &self.ports.discounts;
                let at = self.now();
                let granted = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
                    policy.discount(code, request.customer_id, subtotal, at)
                })
                .await
                .map_err(|e| {
                    Self::policy_error(
                        e,
                        |reason| RuleViolation::CouponRejected { reason },
                        "discount policy",
                    )
                })?;
                Some(granted)
            }
        };

        let policy = self.config.pricing;
        let (lines, totals) = self
            .price(
                request.currency,
                &drafts,
                discount.as_ref(),
                request.shipping_address.as_ref(),
                request.billing_address.as_ref(),
                request.shipping_method.as_ref(),
                &policy,
                &[],
            )
            .await?;
        if !totals.total.amount().is_sign_positive()
            || (totals.total.is_zero() && totals.discount.is_zero())
        {
            return Err(ValidationError::NonPositiveTotal.into());
        }

        let now = self.now();
        let numbers = &self.ports.numbers;
        let number = with_retry(&self.config.retry, self.ports.timer.as_ref(), || {
            numbers.next(now)
        })
        .await
        .map_err(|source| OrderError::Unavailable {
            port: "order numbers",
            source,
        })?;
        let order_id = self.mint(OrderId::new)?;
        let expires_at = now + self.config.pending_ttl;
        let items = Self::stock_items(lines.iter().map(|l| (&l.sku, l.quantity.get())));
        let hold = self.hold(order_id, items, expires_at).await?;

        let record = EventRecord {
            id: self.mint(EventId::new)?,
            order_id,
            sequence: 1,
            occurred_at: now,
            actor: actor.clone(),
            event: OrderEvent::Placed(Box::new(Placed {
                id: order_id,
                number,
                customer_id: request.customer_id,
                currency: request.currency,
                lines,
                shipping_address: request.shipping_address.clone(),
                billing_address: request.billing_address.clone(),
                shipping_method: request.shipping_method.clone(),
                payment_method: request.payment_method.clone(),
                coupon: request.coupon.clone(),
                discount,
                notes: request.notes.clone(),
                pricing: policy,
                totals,
                reservation_expires_at: expires_at,
            })),
        };
        let order = Order::placed(&record).ok_or(OrderError::NotFound(OrderRef::Id(order_id)))?;
        let effects = match (self.config.stock, hold) {
            (StockKeeping::Store, StockChange::Reserve { items, until }) => {
                vec![StockEffect::Reserve {
                    items,
                    expires_at: until,
                }]
            }
            _ => Vec::new(),
        };
        let committed = self
            .ports
            .store
            .commit(Change {
                order: &order,
                expected_version: 0,
                events: std::slice::from_ref(&record),
                idempotency_key: key,
                inbound_event: None,
                lines_changed: true,
                stock: &effects,
            })
            .await;
        if let Err(err) = committed {
            self.align_stock(order_id).await;
            return Err(err.into());
        }
        self.recent.put(&order, self.now());
        Ok(order)
    }
}
