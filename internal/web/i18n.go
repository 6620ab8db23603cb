package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/token"
)

// catalogs maps a language to its messages, read from locales/*.json.
var catalogs = func() map[string]map[string]string {
	out := map[string]map[string]string{}
	entries, err := files.ReadDir("locales")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := files.ReadFile("locales/" + e.Name())
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("web: locales/%s: %v", e.Name(), err))
		}
		out[strings.TrimSuffix(e.Name(), path.Ext(e.Name()))] = m
	}
	return out
}()

// Languages lists the UI languages, the default first.
var Languages = []string{"en", "ja"}

// Localizer speaks one language: messages, dates and relative times.
// Templates call its methods ({{.L.T "key"}}).
type Localizer struct {
	Lang string
	msgs map[string]string
}

func localizer(lang string) *Localizer {
	m, ok := catalogs[lang]
	if !ok {
		lang, m = "en", catalogs["en"]
	}
	return &Localizer{Lang: lang, msgs: m}
}

// T returns the message for key, formatted with args as by fmt.Sprintf.
// A key missing from this language falls back to English, then to the key
// itself (tests make sure neither happens).
func (l *Localizer) T(key string, args ...any) string {
	msg, ok := l.msgs[key]
	if !ok {
		if msg, ok = catalogs["en"][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Has reports whether key is in the catalog.
func (l *Localizer) Has(key string) bool { _, ok := l.msgs[key]; return ok }

var jaWeekdays = [...]string{"日", "月", "火", "水", "木", "金", "土"}

// Date formats a day: "Mon, Jan 2 2006" or "2006年1月2日(月)". Dates are
// shown in UTC, the zone in which custom expiration dates are read.
func (l *Localizer) Date(t time.Time) string {
	t = t.UTC()
	if l.Lang == "ja" {
		return fmt.Sprintf("%d年%d月%d日(%s)", t.Year(), int(t.Month()), t.Day(), jaWeekdays[t.Weekday()])
	}
	return t.Format("Mon, Jan 2 2006")
}

// DateTime formats an instant with minutes and the zone.
func (l *Localizer) DateTime(t time.Time) string {
	t = t.UTC()
	if l.Lang == "ja" {
		return fmt.Sprintf("%d年%d月%d日 %02d:%02d UTC", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
	}
	return t.Format("Jan 2 2006, 15:04 UTC")
}

// LastUsed puts a token's last use into GitHub's coarse buckets: never,
// within the last week, within the last N weeks (under a month), within
// the last N months.
func (l *Localizer) LastUsed(last, now time.Time) string {
	if last.IsZero() {
		return l.T("tokens.never_used")
	}
	const week, month = 7 * 24 * time.Hour, 30 * 24 * time.Hour
	ago := now.Sub(last)
	weeks := int((ago + week - 1) / week)
	switch {
	case weeks <= 1:
		return l.T("tokens.used_week")
	case weeks <= 4:
		return l.T("tokens.used_weeks", weeks)
	}
	months := int((ago + month - 1) / month)
	switch {
	case months <= 1:
		return l.T("tokens.used_month")
	case months > 12:
		return l.T("tokens.used_over_year")
	}
	return l.T("tokens.used_months", months)
}

// Scope returns the description of a scope. English uses the registry's
// labels, which are the ones GitHub's documentation shows; other languages
// translate them in their catalog.
func (l *Localizer) Scope(name string) string {
	if msg, ok := l.msgs["scope."+name]; ok {
		return msg
	}
	for _, s := range token.Scopes() {
		if s.Name == name {
			return s.Description
		}
	}
	return name
}

// pickLocale chooses the language: the user's setting, else the best
// match in Accept-Language, else English.
func (h *Handler) pickLocale(r *http.Request, u *gatehouse.User) *Localizer {
	if u != nil && u.Locale != "" {
		if _, ok := catalogs[u.Locale]; ok {
			return localizer(u.Locale)
		}
	}
	return localizer(matchLanguage(r.Header.Get("Accept-Language")))
}

// matchLanguage returns the supported language with the highest q value
// in an Accept-Language header ("ja-JP,ja;q=0.9,en;q=0.8"), or "en".
func matchLanguage(header string) string {
	type pref struct {
		lang string
		q    float64
		i    int
	}
	var prefs []pref
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" {
			continue
		}
		q := 1.0
		if params = strings.TrimSpace(params); strings.HasPrefix(params, "q") {
			v, ok := strings.CutPrefix(params, "q=")
			f, err := strconv.ParseFloat(v, 64)
			if !ok || err != nil {
				continue // a malformed weight: ignore the entry
			}
			q = f
		}
		if q <= 0 {
			continue
		}
		base, _, _ := strings.Cut(tag, "-")
		prefs = append(prefs, pref{base, q, i})
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	for _, p := range prefs {
		if _, ok := catalogs[p.lang]; ok {
			return p.lang
		}
	}
	return "en"
}
