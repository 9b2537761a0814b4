//! Bisection, for every lane: a part the server refuses as a whole (400/422/413) is split into halves sent in
//! turn, left first, until the refused items stand alone, so one bad item never holds back the rest and order is
//! kept (docs/protocol.md § Responses).

pub(crate) struct Halves<T> {
    /// Parts still to send; the next one is last.
    parts: Vec<Vec<T>>,
}

impl<T> Halves<T> {
    pub fn new(items: Vec<T>) -> Self {
        Halves { parts: if items.is_empty() { Vec::new() } else { vec![items] } }
    }

    /// The next part to send, oldest first.
    pub fn next_part(&mut self) -> Option<Vec<T>> {
        self.parts.pop()
    }

    /// `part` was refused as a whole: its first ⌊n/2⌋ items go next, then the rest. A single item cannot be
    /// split: the caller settles it (dead letter, refused) instead.
    pub fn split(&mut self, mut part: Vec<T>) {
        debug_assert!(part.len() > 1, "a single item is settled, not split");
        let right = part.split_off(part.len() / 2);
        self.parts.push(right);
        self.parts.push(part);
    }

    /// Everything not sent yet, `current` first: what a lane gives back when it stops early.
    pub fn unsent(self, current: Vec<T>) -> Vec<T> {
        let mut out = current;
        out.extend(self.parts.into_iter().rev().flatten());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Halves;

    #[test]
    fn refused_parts_are_halved_left_first_until_single() {
        let mut halves = Halves::new((1..=5).collect::<Vec<u32>>());
        let whole = halves.next_part().unwrap();
        assert_eq!(whole, [1, 2, 3, 4, 5]);
        halves.split(whole);
        let left = halves.next_part().unwrap();
        assert_eq!(left, [1, 2]);
        halves.split(left);
        assert_eq!(halves.next_part().unwrap(), [1]);
        assert_eq!(halves.next_part().unwrap(), [2]);
        let right = halves.next_part().unwrap();
        assert_eq!(right, [3, 4, 5]);
        halves.split(right);
        let three = halves.next_part().unwrap();
        assert_eq!(three, [3]);
        assert_eq!(
            halves.unsent(three),
            [3, 4, 5],
            "stopping early gives back the current part, then the waiting ones"
        );
        assert!(Halves::<u8>::new(Vec::new()).next_part().is_none());
    }
}
