//! Deterministic fault injection for the fakes: a [`FaultPlan`] says, per
//! operation name, whether the next calls succeed, fail or time out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use order_core::PortError;

/// What an injected fault does to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The call answers with an error (unavailable; for a gateway, a decline
    /// when the operation is scripted with [`Fault::Decline`]).
    Fail,
    /// The call never answers, so the caller's timeout fires.
    Timeout,
    /// A payment gateway refuses the payment (other fakes treat it as
    /// [`Fault::Fail`]).
    Decline,
}

/// Scripted faults per operation: queued one-shot faults first, then a
/// standing fault, else success.
#[derive(Debug, Default)]
pub struct FaultPlan {
    // A std mutex: no call holds it across an `.await`, and the critical
    // sections are a map lookup.
    queued: Mutex<HashMap<String, VecDeque<Fault>>>,
    standing: Mutex<HashMap<String, Fault>>,
    /// Whether any fault was ever scripted: most plans never are, and then
    /// a call answers without taking either lock.
    scripted: AtomicBool,
}

impl FaultPlan {
    /// The next `times` calls of `operation` meet `fault`.
    pub fn next(&self, operation: &str, fault: Fault, times: usize) {
        let mut queued = self.queued.lock().unwrap_or_else(|e| e.into_inner());
        let queue = queued.entry(operation.to_owned()).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
        self.scripted.store(true, Ordering::Release);
    }

    /// Every call of `operation` meets `fault` (or succeeds, with `None`),
    /// after the queued ones.
    pub fn always(&self, operation: &str, fault: Option<Fault>) {
        let mut standing = self.standing.lock().unwrap_or_else(|e| e.into_inner());
        match fault {
            Some(fault) => standing.insert(operation.to_owned(), fault),
            None => standing.remove(operation),
        };
        self.scripted.store(true, Ordering::Release);
    }

    /// Forgets every scripted fault.
    pub fn clear(&self) {
        self.queued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.standing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The fault the next call of `operation` meets, consuming a queued one.
    pub fn take(&self, operation: &str) -> Option<Fault> {
        if !self.scripted.load(Ordering::Acquire) {
            return None;
        }
        let queued = self
            .queued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(operation)
            .and_then(VecDeque::pop_front);
        queued.or_else(|| {
            self.standing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(operation)
                .copied()
        })
    }

    /// Applies the next fault of `operation`: returns the error to answer
    /// with, or never returns for a timeout. `Decline` is reported to the
    /// caller, which knows what a decline means for it.
    pub async fn check(&self, operation: &str) -> Result<Option<Fault>, PortError> {
        match self.take(operation) {
            None => Ok(None),
            Some(Fault::Timeout) => std::future::pending().await,
            Some(Fault::Fail) => Err(PortError::Unavailable(format!(
                "{operation}: injected failure"
            ))),
            Some(Fault::Decline) => Ok(Some(Fault::Decline)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_come_before_the_standing_one() {
        let plan = FaultPlan::default();
        plan.next("op", Fault::Fail, 2);
        plan.always("op", Some(Fault::Timeout));
        assert_eq!(plan.take("op"), Some(Fault::Fail));
        assert_eq!(plan.take("op"), Some(Fault::Fail));
        assert_eq!(plan.take("op"), Some(Fault::Timeout));
        plan.always("op", None);
        assert_eq!(plan.take("op"), None);
    }
}
