//! Helpers for tests and benchmarks, shared by the unit tests and the integration tests:
//! a seeded random generator, so that "random" inputs are the same on every run and a
//! failure can be replayed, and the one switch that rewrites golden files.

/// True when golden files should be rewritten instead of compared: `LBCONVERGE_BLESS=1`
/// (or `true`, `yes`). `LBCONVERGE_BLESS=0`, empty or unset compares.
pub fn blessing() -> bool {
    matches!(std::env::var("LBCONVERGE_BLESS").as_deref(), Ok("1" | "true" | "yes"))
}

/// Marsaglia's xorshift64 (shifts 13, 7, 17) from a fixed seed. Not for anything but tests.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift would stay at 0 forever).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 { 0x9e37_79b9_7f4a_7c15 } else { seed })
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n` > 0; 0 for `n` = 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }

    /// The low byte of the next number.
    pub fn byte(&mut self) -> u8 {
        self.next_u64().to_le_bytes()[0]
    }

    /// A fraction in `[0, 1)`, from the top 53 bits.
    pub fn fraction(&mut self) -> f64 {
        const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
        (self.next_u64() >> 11) as f64 * SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_numbers() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut x = 7u64;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        assert_eq!(xs[0], x);
        assert!((0..1000).all(|_| a.below(10) < 10 && (0.0..1.0).contains(&a.fraction())));
    }
}
