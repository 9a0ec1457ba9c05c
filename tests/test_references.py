"""Booking references: eight letters a patient reads out on the phone."""

from collections import Counter

from booking.operations.bookings import REFERENCE_ALPHABET, new_reference


def test_a_reference_is_eight_letters_of_the_alphabet_each_about_as_likely():
    references = [new_reference() for _ in range(4000)]
    assert all(len(reference) == 8 for reference in references)
    letters = Counter(letter for reference in references for letter in reference)
    assert set(letters) == set(REFERENCE_ALPHABET)  # never 0, O, 1 or I
    assert max(letters.values()) < 1.3 * min(letters.values())  # 1,000 of each expected, give or take 100
    assert len(set(references)) == len(references)
