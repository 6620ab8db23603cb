package api

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// page reads per_page (1–100, default 30) and page (from 1). Values that
// do not parse fall back to the defaults, as on GitHub.
func (rq *request) page() gatehouse.Page {
	q := rq.URL.Query()
	p := gatehouse.Page{Page: 1, PerPage: 30}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		p.PerPage = min(n, 100)
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		p.Page = min(n, gatehouse.MaxPage)
	}
	return p
}

// pageURL is the absolute URL of this request with page set to n.
func (rq *request) pageURL(p gatehouse.Page, n int) string {
	q := rq.URL.Query()
	q.Set("page", strconv.Itoa(n))
	q.Set("per_page", strconv.Itoa(p.Limit()))
	path := strings.TrimPrefix(rq.URL.Path, Prefix)
	return rq.h.apiBase + path + "?" + encodeQuery(q)
}

// encodeQuery is url.Values.Encode, which sorts, so links are stable.
func encodeQuery(q url.Values) string { return q.Encode() }

// setLink writes the Link header: next and prev, first, and last when the
// total is known (last < 1: unknown). Absolute URLs, as GitHub sends them.
func (rq *request) setLink(p gatehouse.Page, hasNext bool, last int) {
	var parts []string
	if hasNext {
		parts = append(parts, `<`+rq.pageURL(p, p.Page+1)+`>; rel="next"`)
		if last > 0 {
			parts = append(parts, `<`+rq.pageURL(p, last)+`>; rel="last"`)
		}
	}
	if p.Page > 1 {
		parts = append(parts, `<`+rq.pageURL(p, p.Page-1)+`>; rel="prev"`)
		parts = append(parts, `<`+rq.pageURL(p, 1)+`>; rel="first"`)
	}
	if len(parts) > 0 {
		rq.w.Header().Set("Link", strings.Join(parts, ", "))
	}
}

// listPage fetches the requested page through list and sets the Link
// header. Whether a next page exists is learned by asking for the single
// item after this page, so stores need no count.
func listPage[T any](rq *request, list func(gatehouse.Page) ([]T, error)) ([]T, error) {
	p := rq.page()
	items, err := list(p)
	if err != nil {
		return nil, err
	}
	next := false
	if len(items) == p.Limit() {
		more, err := list(gatehouse.Page{Page: p.Page*p.Limit() + 1, PerPage: 1})
		if err != nil {
			return nil, err
		}
		next = len(more) > 0
	}
	rq.setLink(p, next, 0)
	return items, nil
}

// slicePage pages an in-memory list, with a last link.
func slicePage[T any](rq *request, all []T) []T {
	p := rq.page()
	n := p.Limit()
	lastPage := max(1, (len(all)+n-1)/n)
	start := min(p.Offset(), len(all))
	end := min(start+n, len(all))
	rq.setLink(p, end < len(all), lastPage)
	return all[start:end]
}
