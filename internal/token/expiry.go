package token

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxExpiryDays bounds the "Nd" form; ten years is far beyond any sensible
// token lifetime and keeps the arithmetic well away from overflow.
const MaxExpiryDays = 3650

// expiryHelp is appended to every ParseExpiry error so the user learns
// every accepted form at once.
const expiryHelp = "use 7d, 30d, 60d, 90d (or any Nd with 1 <= N <= 3650), a date YYYY-MM-DD, or never"

// ParseExpiry turns an expiration choice into an instant:
//   - "Nd" (1 ≤ N ≤ MaxExpiryDays, e.g. the presets 7d/30d/60d/90d) is now
//     plus N×24h, in UTC, truncated to the second;
//   - "YYYY-MM-DD" is the end of that day in UTC (23:59:59) and must lie
//     after now;
//   - "never" or "none" is the zero time, meaning no expiration.
//
// Whether "no expiration" is allowed is an admin policy decided elsewhere.
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch {
	case v == "never" || v == "none":
		return time.Time{}, nil
	case len(v) >= 2 && v[len(v)-1] == 'd' && allDigits(v[:len(v)-1]):
		n, err := strconv.Atoi(v[:len(v)-1])
		if err != nil || n < 1 || n > MaxExpiryDays {
			return time.Time{}, fmt.Errorf("expiration %q out of range: %s", s, expiryHelp)
		}
		return now.UTC().Truncate(time.Second).Add(time.Duration(n) * 24 * time.Hour), nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid expiration %q: %s", s, expiryHelp)
	}
	end := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, time.UTC)
	if !end.After(now) {
		return time.Time{}, fmt.Errorf("expiration date %s is in the past: %s", d.Format(time.DateOnly), expiryHelp)
	}
	return end, nil
}

// allDigits reports whether s is non-empty and only ASCII digits; it keeps
// signs and spaces, which strconv.Atoi would accept, out of "Nd".
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
