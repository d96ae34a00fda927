//! The memory budget: a byte count shared by every task of a run, and RAII reservations of it.
//!
//! [`MemoryBudget::try_reserve`] receives a byte count and returns a [`Reservation`] when that
//! many bytes are still free, `None` otherwise; the scheduler takes a reservation **before** a node
//! allocates and keeps it with the node's buffer, so the bytes return to the budget exactly when
//! the buffer is dropped (after its last consumer), on every path including errors and panics.
//! [`MemoryBudget::force_reserve`] grants bytes beyond the limit; the scheduler uses it only to
//! guarantee progress when nothing else runs (the plan's peak, not its largest step, exceeds the
//! budget), and the overdraft is recorded so a run can report it. This is DataFusion's memory pool
//! in miniature: `try_grow` before allocating, freed on drop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Debug)]
struct Pool {
    limit: u64,
    used: AtomicU64,
    peak: AtomicU64,
    overdrafts: AtomicU64,
}

/// A shared byte budget; cloning shares it.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    pool: Arc<Pool>,
}

impl MemoryBudget {
    pub fn new(limit: u64) -> MemoryBudget {
        MemoryBudget {
            pool: Arc::new(Pool {
                limit,
                used: AtomicU64::new(0),
                peak: AtomicU64::new(0),
                overdrafts: AtomicU64::new(0),
            }),
        }
    }

    /// The budget's size in bytes.
    pub fn limit(&self) -> u64 {
        self.pool.limit
    }

    /// Bytes reserved right now.
    pub fn used(&self) -> u64 {
        self.pool.used.load(Ordering::Acquire)
    }

    /// The most bytes ever reserved at once.
    pub fn peak(&self) -> u64 {
        self.pool.peak.load(Ordering::Acquire)
    }

    /// How many reservations were granted beyond the limit.
    pub fn overdrafts(&self) -> u64 {
        self.pool.overdrafts.load(Ordering::Acquire)
    }

    /// Reserves `bytes` if they fit within the limit.
    pub fn try_reserve(&self, bytes: u64) -> Option<Reservation> {
        let pool = &self.pool;
        let mut used = pool.used.load(Ordering::Acquire);
        loop {
            let wanted = used.checked_add(bytes)?;
            if wanted > pool.limit {
                return None;
            }
            match pool
                .used
                .compare_exchange_weak(used, wanted, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    pool.peak.fetch_max(wanted, Ordering::AcqRel);
                    return Some(self.reservation(bytes));
                }
                Err(current) => used = current,
            }
        }
    }

    /// Reserves `bytes` even beyond the limit (counted as an overdraft when it goes beyond).
    pub fn force_reserve(&self, bytes: u64) -> Reservation {
        let pool = &self.pool;
        let now = pool
            .used
            .fetch_add(bytes, Ordering::AcqRel)
            .saturating_add(bytes);
        if now > pool.limit {
            pool.overdrafts.fetch_add(1, Ordering::AcqRel);
        }
        pool.peak.fetch_max(now, Ordering::AcqRel);
        self.reservation(bytes)
    }

    fn reservation(&self, bytes: u64) -> Reservation {
        Reservation {
            pool: Arc::clone(&self.pool),
            bytes,
        }
    }
}

/// Bytes taken from a [`MemoryBudget`], given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    pool: Arc<Pool>,
    bytes: u64,
}

impl Reservation {
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Splits off `bytes` (at most all of them) into a reservation of their own, so that parts of
    /// one grant can be returned at different times (a node's scratch at its end, its output
    /// after its last consumer).
    pub fn split(&mut self, bytes: u64) -> Reservation {
        let taken = bytes.min(self.bytes);
        self.bytes -= taken;
        Reservation {
            pool: Arc::clone(&self.pool),
            bytes: taken,
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.pool.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_return_their_bytes_when_dropped() {
        let budget = MemoryBudget::new(100);
        let first = budget.try_reserve(60).expect("60 of 100 fit");
        assert!(
            budget.try_reserve(50).is_none(),
            "110 > 100 must be refused"
        );
        let second = budget.try_reserve(40).expect("exactly the rest fits");
        assert_eq!(budget.used(), 100);
        drop(first);
        assert_eq!(budget.used(), 40);
        assert!(budget.try_reserve(60).is_some());
        drop(second);
        assert_eq!(budget.used(), 0);
        assert_eq!(budget.peak(), 100);
        assert_eq!(budget.overdrafts(), 0);
    }

    #[test]
    fn a_split_reservation_is_returned_in_parts() {
        let budget = MemoryBudget::new(100);
        let mut whole = budget.try_reserve(80).expect("fits");
        let scratch = whole.split(30);
        assert_eq!((whole.bytes(), scratch.bytes()), (50, 30));
        drop(scratch);
        assert_eq!(budget.used(), 50);
        drop(whole);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn forced_reservations_beyond_the_limit_are_counted() {
        let budget = MemoryBudget::new(10);
        let held = budget.force_reserve(25);
        assert_eq!(budget.overdrafts(), 1);
        assert!(budget.try_reserve(1).is_none());
        drop(held);
        assert!(budget.try_reserve(10).is_some());
    }
}
