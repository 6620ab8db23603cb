package web

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/httpx"
)

// pageTemplate is the layout, the partials and one page.
type pageTemplate = template.Template

var funcs = template.FuncMap{
	"join": strings.Join,
	"avatar": func(login string) string {
		return "/avatars/" + login
	},
	// dict passes several values to a template: dict "K1" v1 "K2" v2.
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
	// inc numbers lines from 1.
	"inc": func(i int) int { return i + 1 },
	// short is a commit id as pages show it.
	"short": func(id string) string { return id[:min(7, len(id))] },
	// size is a file size in bytes, KiB or MiB.
	"size": func(n int64) string {
		switch {
		case n < 1<<10:
			return strconv.FormatInt(n, 10) + " B"
		case n < 1<<20:
			return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KB"
		}
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	},
}

// mustParsePages parses every templates/*.html except the shared ones into
// its own template set together with layout.html and partials.html.
// parsedPages is mustParsePages, parsed once per process: the pages are
// read-only once parsed, and a server builds one handler per host name it
// answers to.
var parsedPages = sync.OnceValue(mustParsePages)

func mustParsePages() map[string]*pageTemplate {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html"))
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*pageTemplate{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(files, n))
		pages[name] = t
	}
	return pages
}

// pageData is what every page template receives.
type pageData struct {
	L         *Localizer
	Title     string
	Viewer    *gatehouse.User
	CSRF      string
	CSRFField string
	Flash     *flashView
	// Nav names the active item of the header or sidebar.
	Nav  string
	Base string
	Now  time.Time
	// Orgs are the logins of the organizations the viewer belongs to,
	// for the avatar menu; MayCreateOrg offers the new-organization form.
	Orgs         []string
	MayCreateOrg bool
	Data         any
}

// flashView is a flash ready to show.
type flashView struct {
	Kind    string
	Text    string
	Token   string
	TokenID int64
	Dropped bool
	Pending string
}

// render executes page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page, titleKey, nav string, data any) {
	st := stateOf(r)
	t := h.pages[page]
	if t == nil {
		h.log.Error("web: no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	pd := &pageData{
		L:         st.loc,
		Title:     st.loc.T(titleKey),
		Viewer:    st.user,
		CSRF:      h.csrfToken(w, r),
		CSRFField: httpx.CSRFField,
		Nav:       nav,
		Base:      h.cfg.ExternalURL,
		Now:       h.now(),
		Data:      data,
	}
	if st.user != nil {
		pd.MayCreateOrg = h.cfg.Service.MayCreateOrg(actor(r))
		// The menu is a convenience: a page still renders when the list
		// cannot be read (the failure is logged once, here).
		orgs, err := h.cfg.Service.ListUserOrgs(r.Context(), actor(r), gatehouse.Page{PerPage: listAll})
		if err != nil && r.Context().Err() == nil {
			h.log.Warn("web: listing the viewer's organizations failed", "request_id", httpx.RequestID(r.Context()), "err", err)
		}
		for _, m := range orgs {
			pd.Orgs = append(pd.Orgs, m.Org.Login)
		}
	}
	if f := h.takeFlash(r); f != nil {
		fv := &flashView{Kind: f.Kind, Token: f.Token, TokenID: f.TokenID, Dropped: f.Dropped, Pending: f.Pending}
		if f.Key != "" {
			args := make([]any, len(f.Args))
			for i, a := range f.Args {
				args[i] = a
			}
			fv.Text = st.loc.T(f.Key, args...)
		}
		pd.Flash = fv
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		h.log.Error("web: rendering page failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorData is the error page's content.
type errorData struct {
	Status  int
	Message string
}

// renderError shows an error page with a translated message.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, key string) {
	h.render(w, r, status, "error", "error.title", "", &errorData{Status: status, Message: stateOf(r).loc.T(key)})
}

// formErrors maps field names to translated messages; "" is for errors
// that belong to no field.
type formErrors map[string]string

// Any reports whether there is an error.
func (e formErrors) Any() bool { return len(e) > 0 }

// isField reports whether err is an Invalid error about field.
func isField(err error, field string) bool {
	var ge *gatehouse.Error
	return errors.As(err, &ge) && ge.Kind == gatehouse.Invalid && ge.Field == field
}
