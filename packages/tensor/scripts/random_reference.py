#!/usr/bin/env python3
"""Independent reference for src/random.ts: splitmix32 seeding, xoshiro128**, and the uniform,
randint, permutation, normal and multinomial derivations. Writes src/fixtures/random.json, the
golden values that random.test.ts checks against.

Run from anywhere: python3 packages/tensor/scripts/random_reference.py
"""

import json
import math
import os

MASK = 0xFFFFFFFF
GOLDEN_GAMMA = 0x9E3779B9


def mix32(z):
    z &= MASK
    z = ((z ^ (z >> 16)) * 0x85EBCA6B) & MASK
    z = ((z ^ (z >> 13)) * 0xC2B2AE35) & MASK
    return z ^ (z >> 16)


def splitmix32(state, k):
    """Output k (1-based) of the splitmix32 stream started at state."""
    return mix32(state + k * GOLDEN_GAMMA)


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & MASK


class Xoshiro128StarStar:
    def __init__(self, seed):
        # The seed as a 64-bit two's-complement value, split into words.
        lo = seed & MASK
        hi = (seed >> 32) & MASK
        self.s = [splitmix32(lo, k) for k in (1, 2, 3, 4)]
        if hi != 0:
            for k in range(4):
                self.s[k] ^= splitmix32(hi, k + 1)
        if self.s == [0, 0, 0, 0]:
            self.s[0] = GOLDEN_GAMMA
        self.cached = None

    def next_uint32(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 9) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def uniform(self):
        return (self.next_uint32() >> 8) / 2.0**24

    def uniform_float64(self):
        a = self.next_uint32() >> 5
        b = self.next_uint32() >> 6
        return (a * 2**26 + b) / 2.0**53

    def below(self, n):
        if n <= 2**32:
            limit = 2**32 - (2**32 % n)
            while True:
                x = self.next_uint32()
                if x < limit:
                    return x % n
        limit = 2**53 - (2**53 % n)
        while True:
            x = (self.next_uint32() >> 5) * 2**26 + (self.next_uint32() >> 6)
            if x < limit:
                return x % n

    def randint(self, low, high):
        return low + self.below(high - low)

    def permutation(self, n):
        out = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return out

    def normal(self):
        if self.cached is not None:
            value, self.cached = self.cached, None
            return value
        u1 = 1.0 - self.uniform_float64()
        u2 = self.uniform_float64()
        r = math.sqrt(-2.0 * math.log(u1))
        theta = 2.0 * math.pi * u2
        self.cached = r * math.sin(theta)
        return r * math.cos(theta)

    def multinomial(self, probs, num_samples):
        """With replacement: inverse CDF over the positive weights, summed left to right."""
        indices = [i for i, p in enumerate(probs) if p > 0]
        cumulative = []
        running = 0.0
        for i in indices:
            running += probs[i]
            cumulative.append(running)
        total = running
        out = []
        for _ in range(num_samples):
            u = self.uniform_float64() * total
            lo, hi = 0, len(cumulative) - 1
            while lo < hi:
                mid = (lo + hi) // 2
                if cumulative[mid] > u:
                    hi = mid
                else:
                    lo = mid + 1
            out.append(indices[lo])
        return out


SEEDS = [0, 1, 42, 123456789, 2**32 + 7, -1, 2**53 - 1, -(2**53 - 1)]
MULTINOMIAL_PROBS = [0.1, 0.0, 0.5, 0.4, 0.0, 2.5]


def case(seed):
    g = Xoshiro128StarStar
    return {
        "seed": seed,
        "state": g(seed).s,
        "uint32": [x for gen in [g(seed)] for x in (gen.next_uint32() for _ in range(8))],
        "uniform": [x for gen in [g(seed)] for x in (gen.uniform() for _ in range(8))],
        "uniformFloat64": [x for gen in [g(seed)] for x in (gen.uniform_float64() for _ in range(4))],
        "randint_0_10": [x for gen in [g(seed)] for x in (gen.randint(0, 10) for _ in range(12))],
        "randint_neg5_2pow40": [x for gen in [g(seed)] for x in (gen.randint(-5, 2**40) for _ in range(4))],
        "randint_0_2pow32": [x for gen in [g(seed)] for x in (gen.randint(0, 2**32) for _ in range(4))],
        "randint_0_3000000000": [x for gen in [g(seed)] for x in (gen.randint(0, 3000000000) for _ in range(6))],
        "permutation_10": g(seed).permutation(10),
        "normal": [x for gen in [g(seed)] for x in (gen.normal() for _ in range(5))],
        "multinomial": g(seed).multinomial(MULTINOMIAL_PROBS, 10),
    }


def main():
    out = {
        "description": "Golden outputs of splitmix32-seeded xoshiro128**, from scripts/random_reference.py",
        "multinomialProbs": MULTINOMIAL_PROBS,
        "cases": [case(seed) for seed in SEEDS],
    }
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "src", "fixtures", "random.json")
    # One case per line keeps the file small and its diffs readable.
    cases = ",\n  ".join(json.dumps(c) for c in out["cases"])
    with open(path, "w") as f:
        f.write('{\n "description": %s,\n "multinomialProbs": %s,\n "cases": [\n  %s\n ]\n}\n'
                % (json.dumps(out["description"]), json.dumps(out["multinomialProbs"]), cases))
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
