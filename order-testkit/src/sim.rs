//! Random command sequences against one `OrderService`.
//!
//! An [`Op`] is one call a client, the payment provider or a scheduler could
//! make: place, pay, process, ship, deliver, complete, cancel, expire, return,
//! refund, edit, change details, payment webhooks (fresh or replayed), each
//! optionally with faults injected into the gateway or the inventory for the
//! duration of the call ([`Op::Faulty`]), or with a rival writer committing
//! to the same order in the middle of the call ([`Op::Raced`]). Ops name
//! their targets by [`Pick`]s (an index into whatever exists when the op
//! runs), so every generated sequence is meaningful and shrinks well.
//!
//! [`arb_scenario`] / [`arb_ops`] generate sequences; [`run`] drives one over
//! a fresh [`Harness`] and returns a [`Trace`]: for every step the orders
//! before and after, the outbox events it added, the stock still held per
//! order, the gateway's operation count and the compensations it logged.
//! Refusals are expected and only recorded. Everything is deterministic: the
//! fakes are, the ids are sequential and the clock only moves on
//! [`Op::Advance`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use order_core::order::Compensation;
use order_core::ports::{
    Change, FigureGroup, IdempotencyClaim, IdempotencyKey, OrderFigures, OrderPage, OrderQuery,
    OrderStore,
};
use order_core::{
    Actor, Address, AddressInput, CaptureMode, DetailsChange, EventRecord, GatewayReference,
    LineEdit, LineQuantity, Money, Notes, Order, OrderError, OrderId, OrderNumber, OrderService,
    PaymentEvent, PaymentEventKind, Ports, Quantity, Reason, ServiceConfig, ShippingMethod,
    StoreError, StoredEvent, service::StockKeeping,
};
use proptest::prelude::*;

use crate::builder::{PlaceOrderBuilder, customer, sample_address};
use crate::fault::{Fault, FaultPlan};
use crate::harness::Harness;
use crate::memory::InMemoryOrderStore;

/// The actor of every op the sim runs.
pub const SIM_ACTOR: &str = "sim";

/// The actor of the rival writer in [`Op::Raced`]; its events are the only
/// ones a step may add besides the step's own.
pub const RIVAL_ACTOR: &str = "rival";

// ---- the ops ----------------------------------------------------------------

/// An index into whatever exists when the op runs (orders, lines,
/// shipments, returns, earlier webhooks), taken modulo their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pick(pub u8);

impl Pick {
    /// The picked item, or `None` when there is none.
    pub fn of<T: Clone>(self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[usize::from(self.0) % items.len()].clone())
        }
    }
}

/// A product of the [`Harness`] demo catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// `TSHIRT`, 19.99, physical, standard tax.
    Tshirt,
    /// `MUG`, 12.50, physical, standard tax.
    Mug,
    /// `BOOK`, 24.00, physical, reduced tax.
    Book,
    /// `EBOOK`, 9.99, digital.
    Ebook,
}

impl Item {
    /// Every item, in catalog order.
    pub const ALL: [Self; 4] = [Self::Tshirt, Self::Mug, Self::Book, Self::Ebook];

    /// Its SKU.
    pub const fn sku(self) -> &'static str {
        match self {
            Self::Tshirt => "TSHIRT",
            Self::Mug => "MUG",
            Self::Book => "BOOK",
            Self::Ebook => "EBOOK",
        }
    }
}

/// A coupon code for placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CouponPick {
    /// 10 % off the order.
    Save10,
    /// 5.00 off from 20.00.
    FiveOff,
    /// A code the discount policy does not know (refused).
    Unknown,
}

impl CouponPick {
    /// The code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Save10 => "SAVE10",
            Self::FiveOff => "FIVEOFF",
            Self::Unknown => "NOSUCHCODE",
        }
    }
}

/// Which units of an order's lines a shipment or a return takes: line `i`
/// is included when bit `i` of `mask` is set (all lines when no included line
/// exists), with `ceil(available × fractions[i] / 255)` units (at least 1)
/// plus `excess` (so the op sometimes asks for more than is available).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Portion {
    /// Which lines.
    pub mask: u8,
    /// How much of each line's available units.
    pub fractions: [u8; 4],
    /// Units asked for beyond the share.
    pub excess: u8,
}

impl Portion {
    /// Resolves against `(line, available)` pairs.
    fn resolve(&self, lines: &[(order_core::LineId, u32)]) -> Vec<LineQuantity> {
        let chosen: Vec<usize> = (0..lines.len())
            .filter(|i| *i < 8 && self.mask & (1 << i) != 0)
            .collect();
        let chosen = if chosen.is_empty() {
            (0..lines.len()).collect()
        } else {
            chosen
        };
        chosen
            .into_iter()
            .filter_map(|i| {
                let (line_id, available) = lines[i];
                let fraction = u32::from(self.fractions[i % 4]);
                let share = (available * fraction).div_ceil(255).max(1);
                Quantity::new(share + u32::from(self.excess))
                    .ok()
                    .map(|quantity| LineQuantity { line_id, quantity })
            })
            .collect()
    }
}

/// One change of [`Op::EditLines`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edit {
    /// Add units of a product (a new line, or more of an existing one).
    Add {
        /// The product.
        item: Item,
        /// Units, 1 or more.
        quantity: u8,
    },
    /// Set a line's quantity.
    Set {
        /// The line.
        line: Pick,
        /// Units, 1 or more.
        quantity: u8,
    },
    /// Remove a line.
    Remove {
        /// The line.
        line: Pick,
    },
}

/// The amount of a `payment.processed` webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AmountPick {
    /// Exactly what the order still owes.
    Due,
    /// A share of the order total, in thousandths (1000 = the total).
    PerMille(u16),
}

/// What a payment webhook says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookKind {
    /// `payment.processed`.
    Processed(AmountPick),
    /// `payment.failed`.
    Failed,
    /// `payment.refunded`, a share of what was captured (of the total when
    /// nothing was), in thousandths; above 1000 asks for too much.
    Refunded {
        /// The share.
        per_mille: u16,
    },
}

/// Which event id a webhook carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventIdPick {
    /// A new one.
    Fresh,
    /// Redeliver an earlier webhook verbatim (a new one when there is none).
    Repeat(Pick),
    /// A new payload under an earlier webhook's id (a new id when there is
    /// none): applied at most once per id, so it is ignored.
    Reuse(Pick),
}

/// The port operation a fault is injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Port {
    /// Gateway `authorize`.
    Authorize,
    /// Gateway `capture`.
    Capture,
    /// Gateway `void`.
    Void,
    /// Gateway `refund`.
    Refund,
    /// Inventory `reserve`.
    Reserve,
    /// Inventory `release`.
    Release,
    /// Inventory `commit`.
    Commit,
    /// Inventory `restock`.
    Restock,
}

impl Port {
    /// The fault plan's operation name.
    pub const fn operation(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Capture => "capture",
            Self::Void => "void",
            Self::Refund => "refund",
            Self::Reserve => "reserve",
            Self::Release => "release",
            Self::Commit => "commit",
            Self::Restock => "restock",
        }
    }

    const fn is_gateway(self) -> bool {
        matches!(
            self,
            Self::Authorize | Self::Capture | Self::Void | Self::Refund
        )
    }
}

/// Faults for the next calls of one port operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Injection {
    /// Which operation.
    pub port: Port,
    /// What happens to it.
    pub fault: Fault,
    /// How many calls meet it (the service retries transient failures up
    /// to its retry policy's attempts, 3 by default).
    pub times: u8,
}

/// What the rival writer of [`Op::Raced`] commits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rival {
    /// Changes the order's notes (when its status allows details changes).
    Notes,
    /// Cancels the order, through a second `OrderService`.
    Cancel,
    /// Pays the order, through a second `OrderService` on the same gateway
    /// (a second process receiving the same checkout).
    Pay,
}

/// One call against the engine.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `place`, with demo-catalog lines (a repeated item is refused), an
    /// optional coupon and an optional idempotency key out of four.
    Place {
        /// Customer 1 to 3.
        customer: u8,
        /// Items and units.
        lines: Vec<(Item, u8)>,
        /// A coupon.
        coupon: Option<CouponPick>,
        /// `key-0` … `key-3`.
        key: Option<u8>,
    },
    /// `pay`.
    Pay {
        /// The order.
        order: Pick,
    },
    /// `start_processing`.
    StartProcessing {
        /// The order.
        order: Pick,
    },
    /// `ship` units still to ship.
    Ship {
        /// The order.
        order: Pick,
        /// Which units.
        portion: Portion,
        /// Whether a carrier is named (physical goods need one).
        carrier: bool,
    },
    /// `deliver` a shipment.
    Deliver {
        /// The order.
        order: Pick,
        /// The shipment.
        shipment: Pick,
    },
    /// Moves the clock.
    Advance {
        /// By this many minutes.
        minutes: u32,
    },
    /// `complete`.
    Complete {
        /// The order.
        order: Pick,
    },
    /// `complete_due`.
    CompleteDue,
    /// `cancel`.
    Cancel {
        /// The order.
        order: Pick,
    },
    /// `expire_stale`.
    ExpireStale,
    /// `request_return` of shipped units.
    RequestReturn {
        /// The order.
        order: Pick,
        /// Which units (of those still returnable).
        portion: Portion,
    },
    /// `receive_return`.
    ReceiveReturn {
        /// The order.
        order: Pick,
        /// The return.
        ret: Pick,
        /// Whether to refund it.
        refund: bool,
    },
    /// `refund` a share of what was captured (of the total when nothing
    /// was), in thousandths; above 1000 asks for too much.
    Refund {
        /// The order.
        order: Pick,
        /// The share.
        per_mille: u16,
    },
    /// `edit_lines`.
    EditLines {
        /// The order.
        order: Pick,
        /// The edits.
        edits: Vec<Edit>,
    },
    /// `update_details`: new notes, shipping method and/or destination.
    UpdateDetails {
        /// The order.
        order: Pick,
        /// Set notes.
        notes: bool,
        /// Switch to `express` (true) or `standard` (false).
        express: Option<bool>,
        /// Ship to Germany (true: other tax rates) or the US (false).
        abroad: Option<bool>,
    },
    /// `apply_payment_event`.
    Webhook {
        /// The order.
        order: Pick,
        /// The event id.
        event: EventIdPick,
        /// What it says.
        kind: WebhookKind,
    },
    /// Runs `op` with faults injected; they are cleared afterwards.
    Faulty {
        /// The faults.
        injections: Vec<Injection>,
        /// The op.
        op: Box<Self>,
    },
    /// Runs `op`; its first commit to an existing order (or, with `late`,
    /// its second: a checkout's recording, after the start that claims the
    /// attempt) is preceded by a rival's commit to the same order, so it
    /// meets a version conflict.
    Raced {
        /// What the rival does.
        rival: Rival,
        /// Race the op's second commit rather than its first.
        late: bool,
        /// The op.
        op: Box<Self>,
    },
}

/// The world a sequence runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// When payments are captured.
    pub capture: CaptureMode,
    /// Who keeps the stock: the inventory port or the store.
    pub keeping: StockKeeping,
    /// Units on hand per [`Item::ALL`] entry; `None` is unlimited.
    pub stock: [Option<u8>; 4],
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            capture: CaptureMode::Immediate,
            keeping: StockKeeping::Inventory,
            stock: [None; 4],
        }
    }
}

/// A setup and the ops to run in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The world.
    pub setup: Setup,
    /// The ops.
    pub ops: Vec<Op>,
}

// ---- strategies -------------------------------------------------------------

fn arb_pick() -> impl Strategy<Value = Pick> {
    // Mostly the first orders, so sequences concentrate on a few of them.
    prop_oneof![6 => Just(Pick(0)), 2 => Just(Pick(1)), 1 => any::<u8>().prop_map(Pick)]
}

fn arb_item() -> impl Strategy<Value = Item> {
    prop_oneof![
        3 => Just(Item::Tshirt),
        2 => Just(Item::Mug),
        2 => Just(Item::Book),
        2 => Just(Item::Ebook)
    ]
}

fn arb_portion() -> impl Strategy<Value = Portion> {
    (
        prop_oneof![1 => Just(u8::MAX), 1 => any::<u8>()],
        prop::array::uniform4(prop_oneof![
            2 => Just(u8::MAX),
            1 => any::<u8>(),
            1 => 0u8..=100
        ]),
        prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)],
    )
        .prop_map(|(mask, fractions, excess)| Portion {
            mask,
            fractions,
            excess,
        })
}

fn arb_place() -> impl Strategy<Value = Op> {
    (
        0u8..3,
        prop::collection::vec((arb_item(), 1u8..=4), 1..=3),
        prop::option::weighted(
            0.3,
            prop_oneof![
                2 => Just(CouponPick::Save10),
                2 => Just(CouponPick::FiveOff),
                1 => Just(CouponPick::Unknown)
            ],
        ),
        prop::option::weighted(0.2, 0u8..4),
    )
        .prop_map(|(customer, lines, coupon, key)| Op::Place {
            customer,
            lines,
            coupon,
            key,
        })
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (arb_item(), 1u8..=4).prop_map(|(item, quantity)| Edit::Add { item, quantity }),
        (arb_pick(), 1u8..=5).prop_map(|(line, quantity)| Edit::Set { line, quantity }),
        arb_pick().prop_map(|line| Edit::Remove { line }),
    ]
}

fn arb_webhook() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![
        3 => prop_oneof![
            3 => Just(AmountPick::Due),
            1 => (1u16..=1500).prop_map(AmountPick::PerMille)
        ]
        .prop_map(WebhookKind::Processed),
        2 => Just(WebhookKind::Failed),
        2 => (1u16..=1500).prop_map(|per_mille| WebhookKind::Refunded { per_mille }),
    ];
    let event = prop_oneof![
        6 => Just(EventIdPick::Fresh),
        2 => arb_pick().prop_map(EventIdPick::Repeat),
        1 => arb_pick().prop_map(EventIdPick::Reuse)
    ];
    (arb_pick(), event, kind).prop_map(|(order, event, kind)| Op::Webhook { order, event, kind })
}

fn arb_advance() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => 1u32..=20,
        2 => 25u32..=45,
        2 => (29u32 * 24 * 60)..=(32 * 24 * 60),
    ]
    .prop_map(|minutes| Op::Advance { minutes })
}

/// Ops without injected faults or races.
pub fn arb_plain_op() -> BoxedStrategy<Op> {
    prop_oneof![
        2 => arb_place(),
        5 => arb_pick().prop_map(|order| Op::Pay { order }),
        4 => arb_pick().prop_map(|order| Op::StartProcessing { order }),
        5 => (arb_pick(), arb_portion(), prop::bool::weighted(0.9)).prop_map(
            |(order, portion, carrier)| Op::Ship {
                order,
                portion,
                carrier
            }
        ),
        5 => (arb_pick(), arb_pick()).prop_map(|(order, shipment)| Op::Deliver {
            order,
            shipment
        }),
        2 => arb_advance(),
        2 => arb_pick().prop_map(|order| Op::Complete { order }),
        1 => Just(Op::CompleteDue),
        1 => arb_pick().prop_map(|order| Op::Cancel { order }),
        1 => Just(Op::ExpireStale),
        3 => (arb_pick(), arb_portion()).prop_map(|(order, portion)| Op::RequestReturn {
            order,
            portion
        }),
        3 => (arb_pick(), arb_pick(), any::<bool>()).prop_map(|(order, ret, refund)| {
            Op::ReceiveReturn { order, ret, refund }
        }),
        2 => (arb_pick(), 1u16..=1500).prop_map(|(order, per_mille)| Op::Refund {
            order,
            per_mille
        }),
        2 => (arb_pick(), prop::collection::vec(arb_edit(), 1..=3))
            .prop_map(|(order, edits)| Op::EditLines { order, edits }),
        1 => (
            arb_pick(),
            any::<bool>(),
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>())
        )
            .prop_map(|(order, notes, express, abroad)| Op::UpdateDetails {
                order,
                notes,
                express,
                abroad
            }),
        3 => arb_webhook(),
    ]
    .boxed()
}

fn arb_fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::Fail),
        Just(Fault::Timeout),
        Just(Fault::Decline)
    ]
}

fn arb_injection(ports: &'static [Port]) -> impl Strategy<Value = Injection> {
    (prop::sample::select(ports), arb_fault(), 1u8..=4).prop_map(|(port, fault, times)| Injection {
        port,
        fault,
        times,
    })
}

/// A payment with a decline, a gateway timeout, a capture failure or a
/// failing void, or any fault in any port.
fn arb_faulty() -> impl Strategy<Value = Op> {
    const GATEWAY: &[Port] = &[Port::Authorize, Port::Capture, Port::Void, Port::Refund];
    const ALL: &[Port] = &[
        Port::Authorize,
        Port::Capture,
        Port::Void,
        Port::Refund,
        Port::Reserve,
        Port::Release,
        Port::Commit,
        Port::Restock,
    ];
    let pay = || arb_pick().prop_map(|order| Op::Pay { order });
    let scripted_pay = (prop::collection::vec(arb_injection(GATEWAY), 1..=2), pay()).prop_map(
        |(injections, op)| Op::Faulty {
            injections,
            op: Box::new(op),
        },
    );
    let declined = (
        pay(),
        prop_oneof![Just(Port::Authorize), Just(Port::Capture)],
    )
        .prop_map(|(op, port)| Op::Faulty {
            injections: vec![Injection {
                port,
                fault: Fault::Decline,
                times: 1,
            }],
            op: Box::new(op),
        });
    let any_op = (
        prop::collection::vec(arb_injection(ALL), 1..=2),
        arb_plain_op(),
    )
        .prop_map(|(injections, op)| Op::Faulty {
            injections,
            op: Box::new(op),
        });
    prop_oneof![2 => declined, 2 => scripted_pay, 3 => any_op]
}

fn arb_raced() -> impl Strategy<Value = Op> {
    (
        prop_oneof![Just(Rival::Notes), Just(Rival::Cancel), Just(Rival::Pay)],
        any::<bool>(),
        arb_plain_op(),
    )
        .prop_map(|(rival, late, op)| Op::Raced {
            rival,
            late,
            op: Box::new(op),
        })
}

/// Any op: mostly plain, some with faults, some raced.
pub fn arb_op() -> BoxedStrategy<Op> {
    prop_oneof![12 => arb_plain_op(), 3 => arb_faulty(), 1 => arb_raced()].boxed()
}

/// A run of the happy path for one order, from a random stage: pay, start
/// processing, ship some then the rest, deliver, return some then the rest,
/// receive, let the return window pass, complete. Mixed into sequences so they reach
/// the late statuses as often as the early ones.
pub fn arb_progress() -> impl Strategy<Value = Vec<Op>> {
    let all = Portion {
        mask: u8::MAX,
        fractions: [u8::MAX; 4],
        excess: 0,
    };
    (
        arb_pick(),
        0usize..12,
        1usize..=8,
        any::<bool>(),
        arb_portion(),
        arb_portion(),
    )
        .prop_map(move |(order, start, len, refund, some, returned)| {
            let path = [
                Op::Pay { order },
                Op::StartProcessing { order },
                Op::Ship {
                    order,
                    portion: some,
                    carrier: true,
                },
                Op::Ship {
                    order,
                    portion: all,
                    carrier: true,
                },
                Op::Deliver {
                    order,
                    shipment: Pick(0),
                },
                Op::Deliver {
                    order,
                    shipment: Pick(1),
                },
                Op::Deliver {
                    order,
                    shipment: Pick(2),
                },
                Op::RequestReturn {
                    order,
                    portion: returned,
                },
                Op::RequestReturn {
                    order,
                    portion: all,
                },
                Op::ReceiveReturn {
                    order,
                    ret: Pick(0),
                    refund,
                },
                Op::ReceiveReturn {
                    order,
                    ret: Pick(1),
                    refund,
                },
                Op::Advance {
                    minutes: 31 * 24 * 60,
                },
                Op::Complete { order },
            ];
            path.into_iter().skip(start).take(len).collect()
        })
}

/// Up to `max_len` ops; the first one places an order, so most sequences
/// have something to act on.
pub fn arb_ops(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    let chunk = prop_oneof![
        4 => arb_op().prop_map(|op| vec![op]),
        1 => arb_progress(),
    ];
    (
        arb_place(),
        prop::collection::vec(chunk, 0..=max_len.saturating_sub(1)),
    )
        .prop_map(move |(first, chunks)| {
            std::iter::once(first)
                .chain(chunks.into_iter().flatten())
                .take(max_len)
                .collect()
        })
}

/// A capture mode, who keeps the stock, and stock levels (a few units or
/// unlimited).
pub fn arb_setup() -> impl Strategy<Value = Setup> {
    (
        prop_oneof![
            1 => Just(CaptureMode::Immediate),
            1 => Just(CaptureMode::OnProcessing)
        ],
        prop_oneof![Just(StockKeeping::Inventory), Just(StockKeeping::Store)],
        prop::array::uniform4(prop::option::weighted(0.5, 0u8..=8)),
    )
        .prop_map(|(capture, keeping, stock)| Setup {
            capture,
            keeping,
            stock,
        })
}

/// A setup and up to `max_len` ops.
pub fn arb_scenario(max_len: usize) -> impl Strategy<Value = Scenario> {
    (arb_setup(), arb_ops(max_len)).prop_map(|(setup, ops)| Scenario { setup, ops })
}

// ---- the racing store -------------------------------------------------------

/// An in-memory store that, when armed, lets a rival writer commit to an
/// order just before the next commit to that order goes through, so that
/// commit meets a real version conflict.
#[allow(missing_debug_implementations)]
pub struct RacingStore {
    inner: Arc<InMemoryOrderStore>,
    armed: Mutex<Option<(Rival, usize)>>,
    rival: Mutex<Option<OrderService>>,
}

impl RacingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<InMemoryOrderStore>) -> Self {
        Self {
            inner,
            armed: Mutex::new(None),
            rival: Mutex::new(None),
        }
    }

    /// The store without the race.
    pub fn inner(&self) -> &Arc<InMemoryOrderStore> {
        &self.inner
    }

    /// The service the rival writes through (it must use [`Self::inner`]).
    pub fn set_rival_service(&self, service: OrderService) {
        *lock(&self.rival) = Some(service);
    }

    /// The next commit to an existing order is raced by `rival`.
    pub fn arm(&self, rival: Option<Rival>) {
        self.arm_after(rival, 0);
    }

    /// The commit to an existing order that follows `skip` such commits is
    /// raced by `rival`.
    pub fn arm_after(&self, rival: Option<Rival>, skip: usize) {
        *lock(&self.armed) = rival.map(|r| (r, skip));
    }

    async fn race(&self, rival: Rival, id: OrderId) {
        let Some(service) = lock(&self.rival).clone() else {
            return;
        };
        let Ok(actor) = Actor::parse(RIVAL_ACTOR) else {
            return;
        };
        // The rival may be refused; the race then simply does not happen.
        match rival {
            Rival::Notes => {
                if let Ok(notes) = Notes::parse("changed concurrently") {
                    let change = DetailsChange {
                        notes: Some(Some(notes)),
                        ..DetailsChange::default()
                    };
                    let _ = service.update_details(id, None, change, &actor).await;
                }
            }
            Rival::Cancel => {
                if let Ok(reason) = Reason::parse("cancelled concurrently") {
                    let _ = service.cancel(id, None, reason, &actor).await;
                }
            }
            Rival::Pay => {
                let _ = service.pay(id, &actor).await;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl OrderFigures for RacingStore {
    async fn figures(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FigureGroup>, StoreError> {
        self.inner.figures(from, to).await
    }
}

#[async_trait]
impl OrderStore for RacingStore {
    async fn get(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.inner.get(id).await
    }

    async fn get_by_number(&self, number: &OrderNumber) -> Result<Option<Order>, StoreError> {
        self.inner.get_by_number(number).await
    }

    async fn commit(&self, change: Change<'_>) -> Result<(), StoreError> {
        if change.expected_version > 0 {
            let due = {
                let mut armed = lock(&self.armed);
                match armed.take() {
                    Some((rival, 0)) => Some(rival),
                    Some((rival, skip)) => {
                        *armed = Some((rival, skip - 1));
                        None
                    }
                    None => None,
                }
            };
            if let Some(rival) = due {
                self.race(rival, change.order.id()).await;
            }
        }
        self.inner.commit(change).await
    }

    async fn list(&self, query: &OrderQuery) -> Result<OrderPage, StoreError> {
        self.inner.list(query).await
    }

    async fn events(&self, id: OrderId) -> Result<Vec<EventRecord>, StoreError> {
        self.inner.events(id).await
    }

    async fn feed(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.feed(after, limit).await
    }

    async fn unpublished(&self, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.unpublished(limit).await
    }

    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        self.inner.mark_published(positions).await
    }

    async fn claim_idempotency_key(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
        now: DateTime<Utc>,
        lease: StdDuration,
    ) -> Result<IdempotencyClaim, StoreError> {
        self.inner
            .claim_idempotency_key(key, fingerprint, now, lease)
            .await
    }

    async fn release_idempotency_key(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.inner.release_idempotency_key(key).await
    }

    async fn inbound_event_processed(&self, event_id: &str) -> Result<bool, StoreError> {
        self.inner.inbound_event_processed(event_id).await
    }

    async fn record_compensation(&self, compensation: &Compensation) -> Result<(), StoreError> {
        self.inner.record_compensation(compensation).await
    }

    async fn compensations(&self) -> Result<Vec<Compensation>, StoreError> {
        self.inner.compensations().await
    }

    async fn resolve_compensation(
        &self,
        id: order_core::CompensationId,
        resolution: &order_core::order::Resolution,
    ) -> Result<Option<Compensation>, StoreError> {
        self.inner.resolve_compensation(id, resolution).await
    }
}

// ---- the trace --------------------------------------------------------------

/// How a step ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// There was nothing to act on (no order, line, shipment or return).
    Skipped,
    /// The call succeeded.
    Ok,
    /// Refused (validation, state machine, rule, not found, out of stock,
    /// idempotency, version conflict): nothing may have been written.
    Refused(String),
    /// The gateway declined; the failure may have been recorded.
    Declined(String),
    /// A port could not answer; a failure may have been recorded.
    Unavailable(String),
    /// The store failed.
    StoreFailed(String),
}

impl Outcome {
    fn of(result: Result<(), OrderError>) -> Self {
        match result {
            Ok(()) => Self::Ok,
            Err(err) => {
                let text = err.to_string();
                match err {
                    OrderError::Validation(_)
                    | OrderError::Transition(_)
                    | OrderError::Rule(_)
                    | OrderError::NotFound(_)
                    | OrderError::VersionConflict { .. }
                    | OrderError::OutOfStock(_)
                    | OrderError::IdempotencyKeyReused { .. }
                    | OrderError::IdempotencyInFlight { .. } => Self::Refused(text),
                    OrderError::PaymentDeclined { .. } => Self::Declined(text),
                    OrderError::Unavailable { .. } => Self::Unavailable(text),
                    OrderError::Store(_) => Self::StoreFailed(text),
                }
            }
        }
    }

    /// True for [`Outcome::Refused`].
    pub fn is_refused(&self) -> bool {
        matches!(self, Self::Refused(_))
    }
}

/// What one op did.
#[derive(Clone, Debug)]
pub struct Step {
    /// The op.
    pub op: Op,
    /// The order it targeted, when it targets one.
    pub target: Option<OrderId>,
    /// How it ended.
    pub outcome: Outcome,
    /// Every order that existed before the step, as stored.
    pub before: BTreeMap<OrderId, Order>,
    /// Every order that exists after the step, as stored.
    pub after: BTreeMap<OrderId, Order>,
    /// The outbox events the step added, by position (the rival's included;
    /// see [`RIVAL_ACTOR`]).
    pub events: Vec<StoredEvent>,
    /// Units the inventory still holds (reserved, not committed) per order
    /// after the step.
    pub reserved: BTreeMap<OrderId, u32>,
    /// How many operations the gateway's log holds after the step.
    pub gateway_ops: usize,
    /// Compensations the step logged for an operator.
    pub compensations: Vec<Compensation>,
}

impl Step {
    /// The events of `order` the step added, oldest first.
    pub fn events_of(&self, order: OrderId) -> impl Iterator<Item = &EventRecord> {
        self.events
            .iter()
            .map(|e| &e.record)
            .filter(move |r| r.order_id == order)
    }

    /// The events the step's own op added (not the rival's).
    pub fn own_events(&self) -> impl Iterator<Item = &EventRecord> {
        self.events
            .iter()
            .map(|e| &e.record)
            .filter(|r| r.actor.as_str() != RIVAL_ACTOR)
    }
}

/// A run: its steps and the world they left behind.
#[allow(missing_debug_implementations)]
pub struct Trace {
    /// One entry per op.
    pub steps: Vec<Step>,
    /// The fakes (and the store) after the last step.
    pub harness: Harness,
    /// Every order's events after the last step.
    pub events: BTreeMap<OrderId, Vec<EventRecord>>,
    /// The compensation log after the last step.
    pub compensations: Vec<Compensation>,
}

// ---- the runner -------------------------------------------------------------

/// One `OrderService` over a [`Harness`] with a [`RacingStore`], and what
/// the sim needs to resolve [`Pick`]s.
#[allow(missing_debug_implementations)]
pub struct Sim {
    /// The fakes; `harness.store` is [`Sim::store`].
    pub harness: Harness,
    /// The store.
    pub store: Arc<RacingStore>,
    /// The service under test.
    pub service: OrderService,
    actor: Actor,
    orders: Vec<OrderId>,
    webhooks: Vec<PaymentEvent>,
    feed_position: u64,
    compensations_seen: usize,
    keeping: StockKeeping,
}

fn must<T, E: std::fmt::Display>(value: Result<T, E>, what: &str) -> T {
    match value {
        Ok(v) => v,
        Err(err) => panic!("sim fixture {what} is invalid: {err}"),
    }
}

fn german_address() -> Address {
    must(
        Address::parse(AddressInput {
            name: "Erika Mustermann".into(),
            line1: "Heidestrasse 17".into(),
            city: "Koeln".into(),
            postal_code: "51147".into(),
            country: "DE".into(),
            ..AddressInput::default()
        }),
        "address",
    )
}

fn share(of: Money, per_mille: u16) -> Money {
    let minor = (of.minor() * i128::from(per_mille) / 1000).max(1);
    Money::from_minor(minor, of.currency()).unwrap_or(of)
}

impl Sim {
    /// A fresh world per `setup`.
    pub fn new(setup: &Setup) -> Self {
        let inner = Arc::new(InMemoryOrderStore::default());
        let store = Arc::new(RacingStore::new(inner.clone()));
        let harness = Harness::with_store(store.clone());
        for (item, units) in Item::ALL.iter().zip(setup.stock) {
            if let Some(units) = units {
                let sku = harness.product(item.sku()).sku;
                match setup.keeping {
                    StockKeeping::Inventory => {
                        harness.inventory.set_on_hand(&sku, u32::from(units))
                    }
                    StockKeeping::Store => inner.set_on_hand(&sku, u32::from(units)),
                }
            }
        }
        let config = ServiceConfig {
            capture: setup.capture,
            stock: setup.keeping,
            ..ServiceConfig::default()
        };
        let service = harness.service_with(config);
        let rival_ports = Ports {
            store: inner,
            ..harness.ports()
        };
        store.set_rival_service(OrderService::new(rival_ports, config));
        Self {
            harness,
            store,
            service,
            actor: must(Actor::parse(SIM_ACTOR), "actor"),
            orders: Vec::new(),
            webhooks: Vec::new(),
            feed_position: 0,
            compensations_seen: 0,
            keeping: setup.keeping,
        }
    }

    /// Every order placed so far, oldest first.
    pub fn orders(&self) -> &[OrderId] {
        &self.orders
    }

    async fn snapshot(&self) -> BTreeMap<OrderId, Order> {
        let mut all = BTreeMap::new();
        for id in &self.orders {
            if let Ok(Some(order)) = self.store.get(*id).await {
                all.insert(*id, order);
            }
        }
        all
    }

    /// Runs one op and records what it did.
    pub async fn step(&mut self, op: &Op) -> Step {
        let before = self.snapshot().await;
        let (target, outcome) = self.perform(op).await;
        self.store.arm(None);
        self.harness.gateway.faults().clear();
        self.harness.inventory.faults().clear();
        let after = self.snapshot().await;
        let events = self
            .store
            .feed(self.feed_position, usize::MAX)
            .await
            .unwrap_or_default();
        if let Some(last) = events.last() {
            self.feed_position = last.position;
        }
        let log = self.store.compensations().await.unwrap_or_default();
        let compensations = log
            .get(self.compensations_seen..)
            .map(<[Compensation]>::to_vec)
            .unwrap_or_default();
        self.compensations_seen = log.len();
        let reserved = self
            .orders
            .iter()
            .map(|id| {
                let held = match self.keeping {
                    StockKeeping::Inventory => self.harness.inventory.reserved_for(*id),
                    StockKeeping::Store => self.store.inner().reserved_for(*id),
                };
                (*id, held)
            })
            .collect();
        Step {
            op: op.clone(),
            target,
            outcome,
            before,
            after,
            events,
            reserved,
            gateway_ops: self.harness.gateway.operations().len(),
            compensations,
        }
    }

    fn plan(&self, port: Port) -> &FaultPlan {
        if port.is_gateway() {
            self.harness.gateway.faults()
        } else {
            self.harness.inventory.faults()
        }
    }

    async fn order(&self, pick: Pick) -> Option<Order> {
        let id = pick.of(&self.orders)?;
        self.store.get(id).await.ok().flatten()
    }

    fn perform<'a>(
        &'a mut self,
        op: &'a Op,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = (Option<OrderId>, Outcome)> + 'a>> {
        Box::pin(async move {
            match op {
                Op::Faulty { injections, op } => {
                    for injection in injections {
                        self.plan(injection.port).next(
                            injection.port.operation(),
                            injection.fault,
                            usize::from(injection.times),
                        );
                    }
                    self.perform(op).await
                }
                Op::Raced { rival, late, op } => {
                    self.store.arm_after(Some(*rival), usize::from(*late));
                    let performed = self.perform(op).await;
                    // A race the op never reached does not happen later.
                    self.store.arm(None);
                    performed
                }
                Op::Place {
                    customer: who,
                    lines,
                    coupon,
                    key,
                } => {
                    let (target, result) = self.place(*who, lines, *coupon, *key).await;
                    (target, Outcome::of(result))
                }
                Op::Advance { minutes } => {
                    self.harness
                        .clock
                        .advance(Duration::minutes(i64::from(*minutes)));
                    (None, Outcome::Ok)
                }
                Op::ExpireStale => (
                    None,
                    Outcome::of(self.service.expire_stale(50).await.map(drop)),
                ),
                Op::CompleteDue => (
                    None,
                    Outcome::of(self.service.complete_due(50).await.map(drop)),
                ),
                Op::Webhook { order, event, kind } => self.webhook(*order, *event, *kind).await,
                other => {
                    let Some(order) = self.order(other_target(other)).await else {
                        return (None, Outcome::Skipped);
                    };
                    let id = order.id();
                    match self.on_order(other, &order).await {
                        Some(result) => (Some(id), Outcome::of(result)),
                        None => (Some(id), Outcome::Skipped),
                    }
                }
            }
        })
    }

    async fn place(
        &mut self,
        who: u8,
        lines: &[(Item, u8)],
        coupon: Option<CouponPick>,
        key: Option<u8>,
    ) -> (Option<OrderId>, Result<(), OrderError>) {
        let mut request = PlaceOrderBuilder::new(customer(u64::from(who % 3) + 1));
        for (item, units) in lines {
            request = request.line(
                &self.harness.product(item.sku()),
                u32::from((*units).max(1)),
            );
        }
        if let Some(coupon) = coupon {
            request = request.coupon(coupon.code());
        }
        let key = key.map(|k| must(IdempotencyKey::parse(&format!("key-{k}")), "key"));
        match self
            .service
            .place(request.build(), key.as_ref(), &self.actor)
            .await
        {
            Ok(order) => {
                if !self.orders.contains(&order.id()) {
                    self.orders.push(order.id());
                }
                (Some(order.id()), Ok(()))
            }
            Err(err) => (None, Err(err)),
        }
    }

    async fn webhook(
        &mut self,
        order: Pick,
        event: EventIdPick,
        kind: WebhookKind,
    ) -> (Option<OrderId>, Outcome) {
        let repeated = match event {
            EventIdPick::Repeat(pick) => pick.of(&self.webhooks),
            EventIdPick::Fresh | EventIdPick::Reuse(_) => None,
        };
        let reused_id = match event {
            EventIdPick::Reuse(pick) => pick.of(&self.webhooks).map(|e| e.event_id),
            EventIdPick::Fresh | EventIdPick::Repeat(_) => None,
        };
        let event = match repeated {
            Some(event) => event,
            None => {
                let Some(order) = self.order(order).await else {
                    return (None, Outcome::Skipped);
                };
                let n = self.webhooks.len() + 1;
                let reference = must(GatewayReference::parse(&format!("wh_{n:04}")), "ref");
                let captured = order.payments().captured();
                let kind = match kind {
                    WebhookKind::Processed(AmountPick::Due) => PaymentEventKind::Processed {
                        amount: order.amount_due(),
                        reference,
                    },
                    WebhookKind::Processed(AmountPick::PerMille(pm)) => {
                        PaymentEventKind::Processed {
                            amount: share(order.totals().total, pm),
                            reference,
                        }
                    }
                    WebhookKind::Failed => PaymentEventKind::Failed {
                        code: "card_declined".into(),
                        reason: "declined by the issuer".into(),
                    },
                    WebhookKind::Refunded { per_mille } => {
                        let base = if captured.is_zero() {
                            order.totals().total
                        } else {
                            captured
                        };
                        PaymentEventKind::Refunded {
                            amount: share(base, per_mille),
                            reference,
                        }
                    }
                };
                let event = PaymentEvent {
                    event_id: reused_id.unwrap_or_else(|| format!("evt_{n:04}")),
                    order_id: order.id(),
                    kind,
                };
                self.webhooks.push(event.clone());
                event
            }
        };
        let result = self
            .service
            .apply_payment_event(&event, &self.actor)
            .await
            .map(drop);
        (Some(event.order_id), Outcome::of(result))
    }

    /// Runs an op that targets one existing order; `None` when a pick inside
    /// it finds nothing.
    async fn on_order(&self, op: &Op, order: &Order) -> Option<Result<(), OrderError>> {
        let s = &self.service;
        let id = order.id();
        let actor = &self.actor;
        let reason = |text: &str| must(Reason::parse(text), "reason");
        let result = match op {
            Op::Pay { .. } => s.pay(id, actor).await.map(drop),
            Op::StartProcessing { .. } => s.start_processing(id, None, actor).await.map(drop),
            Op::Ship {
                portion, carrier, ..
            } => {
                let lines: Vec<_> = order
                    .lines()
                    .iter()
                    .map(|l| {
                        // Saturating: a broken ledger is for the properties
                        // to report, not for the sim to panic on.
                        let q = l.quantities;
                        let to_ship = q
                            .ordered
                            .saturating_sub(q.cancelled)
                            .saturating_sub(q.shipped);
                        (l.id, to_ship)
                    })
                    .collect();
                let carrier = carrier.then(|| must(order_core::Carrier::parse("UPS"), "carrier"));
                let tracking = carrier
                    .as_ref()
                    .map(|_| must(order_core::TrackingNumber::parse("1Z999"), "tracking"));
                s.ship(id, None, portion.resolve(&lines), carrier, tracking, actor)
                    .await
                    .map(drop)
            }
            Op::Deliver { shipment, .. } => {
                let ids: Vec<_> = order.shipments().iter().map(|sh| sh.id).collect();
                let shipment = shipment.of(&ids)?;
                s.deliver(id, None, shipment, actor).await.map(drop)
            }
            Op::Complete { .. } => s.complete(id, None, actor).await.map(drop),
            Op::Cancel { .. } => s
                .cancel(id, None, reason("customer changed their mind"), actor)
                .await
                .map(drop),
            Op::RequestReturn { portion, .. } => {
                let lines: Vec<_> = order
                    .lines()
                    .iter()
                    .filter(|l| l.quantities.shipped > 0)
                    .map(|l| {
                        let q = l.quantities;
                        let returnable = q
                            .shipped
                            .saturating_sub(q.returned.saturating_add(q.return_requested));
                        (l.id, returnable)
                    })
                    .collect();
                if lines.is_empty() {
                    return None;
                }
                s.request_return(id, None, portion.resolve(&lines), reason("damaged"), actor)
                    .await
                    .map(drop)
            }
            Op::ReceiveReturn { ret, refund, .. } => {
                let ids: Vec<_> = order.returns().iter().map(|r| r.id).collect();
                let ret = ret.of(&ids)?;
                s.receive_return(id, None, ret, *refund, actor)
                    .await
                    .map(drop)
            }
            Op::Refund { per_mille, .. } => {
                let captured = order.payments().captured();
                let base = if captured.is_zero() {
                    order.totals().total
                } else {
                    captured
                };
                s.refund(id, share(base, *per_mille), reason("goodwill"), actor)
                    .await
                    .map(drop)
            }
            Op::EditLines { edits, .. } => {
                let line_ids: Vec<_> = order.lines().iter().map(|l| l.id).collect();
                let mut resolved = Vec::with_capacity(edits.len());
                for edit in edits {
                    resolved.push(match *edit {
                        Edit::Add { item, quantity } => {
                            let product = self.harness.product(item.sku());
                            LineEdit::Add {
                                product_id: product.product_id,
                                variant_id: product.variant_id,
                                quantity: Quantity::new(u32::from(quantity.max(1))).ok()?,
                            }
                        }
                        Edit::Set { line, quantity } => LineEdit::SetQuantity {
                            line_id: line.of(&line_ids)?,
                            quantity: Quantity::new(u32::from(quantity.max(1))).ok()?,
                        },
                        Edit::Remove { line } => LineEdit::Remove {
                            line_id: line.of(&line_ids)?,
                        },
                    });
                }
                s.edit_lines(id, None, &resolved, actor).await.map(drop)
            }
            Op::UpdateDetails {
                notes,
                express,
                abroad,
                ..
            } => {
                let change = DetailsChange {
                    notes: notes.then(|| Notes::parse("leave at the door").ok()),
                    shipping_address: abroad.map(|abroad| {
                        if abroad {
                            german_address()
                        } else {
                            sample_address()
                        }
                    }),
                    shipping_method: express.map(|express| {
                        must(
                            ShippingMethod::parse(if express { "express" } else { "standard" }),
                            "method",
                        )
                    }),
                    ..DetailsChange::default()
                };
                s.update_details(id, None, change, actor).await.map(drop)
            }
            Op::Place { .. }
            | Op::Advance { .. }
            | Op::CompleteDue
            | Op::ExpireStale
            | Op::Webhook { .. }
            | Op::Faulty { .. }
            | Op::Raced { .. } => return None,
        };
        Some(result)
    }

    /// Runs every op and returns the trace.
    pub async fn run(mut self, ops: &[Op]) -> Trace {
        let mut steps = Vec::with_capacity(ops.len());
        for op in ops {
            steps.push(self.step(op).await);
        }
        let mut events = BTreeMap::new();
        for id in &self.orders {
            events.insert(*id, self.store.events(*id).await.unwrap_or_default());
        }
        let compensations = self.store.compensations().await.unwrap_or_default();
        Trace {
            steps,
            harness: self.harness,
            events,
            compensations,
        }
    }
}

/// The order pick of an op that targets one order.
fn other_target(op: &Op) -> Pick {
    match op {
        Op::Pay { order }
        | Op::StartProcessing { order }
        | Op::Ship { order, .. }
        | Op::Deliver { order, .. }
        | Op::Complete { order }
        | Op::Cancel { order }
        | Op::RequestReturn { order, .. }
        | Op::ReceiveReturn { order, .. }
        | Op::Refund { order, .. }
        | Op::EditLines { order, .. }
        | Op::UpdateDetails { order, .. }
        | Op::Webhook { order, .. } => *order,
        Op::Place { .. }
        | Op::Advance { .. }
        | Op::CompleteDue
        | Op::ExpireStale
        | Op::Faulty { .. }
        | Op::Raced { .. } => Pick(0),
    }
}

/// Runs `ops` in a fresh world per `setup`.
pub async fn run(setup: &Setup, ops: &[Op]) -> Trace {
    Sim::new(setup).run(ops).await
}
