package web

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
)

// SSH keys: Settings → SSH keys (/settings/keys) for the viewer's own
// keys, repository settings → Deploy keys (/OWNER/REPO/settings/keys) for
// a repository's administrators, and /USER.keys, the public keys of a
// user as plain text for authorized_keys files, as GitHub serves them.
//
// The deploy key form posts to …/settings/keys/new rather than to
// …/settings/keys: ServeMux refuses POST /{owner}/{repo}/settings/keys
// beside POST /admin/users/{id}/{action} (each matches
// /admin/users/settings/keys, neither is more specific).

// keyRow is one line of a key list.
type keyRow struct {
	ID    int64
	Title string
	// Fingerprint is as ssh-keygen -l prints it: "SHA256:…".
	Fingerprint string
	Added       string
	LastUsed    string
	// ReadOnly is for deploy keys: false means the key may push.
	ReadOnly bool
}

func (h *Handler) keyRow(loc *Localizer, k *gatehouse.Key) keyRow {
	return keyRow{ID: k.ID, Title: k.Title, Fingerprint: k.Fingerprint,
		Added: loc.T("keys.added_on", loc.Date(k.CreatedAt)), LastUsed: loc.LastUsed(k.LastUsedAt, h.now())}
}

func (h *Handler) deployKeyRow(loc *Localizer, k *gatehouse.DeployKey) keyRow {
	return keyRow{ID: k.ID, Title: k.Title, Fingerprint: k.Fingerprint, ReadOnly: k.ReadOnly,
		Added: loc.T("keys.added_on", loc.Date(k.CreatedAt)), LastUsed: loc.LastUsed(k.LastUsedAt, h.now())}
}

// keysData is a key list: the viewer's, or a repository's deploy keys
// (Repo set).
type keysData struct {
	Repo *gatehouse.Repo
	Keys []keyRow
}

// keyFormData is the form that adds a key, and the confirmation that
// deletes one (Key set).
type keyFormData struct {
	Repo   *gatehouse.Repo
	Title  string
	Key    string
	Write  bool // deploy keys: allow write access
	Errors formErrors
	Delete *keyRow
}

// listAllPages calls list with pages of 100 until one comes back short:
// every key of a user or a repository, which are few.
func listAllPages[T any](list func(gatehouse.Page) ([]T, error)) ([]T, error) {
	var out []T
	for page := 1; page <= gatehouse.MaxPage; page++ {
		rows, err := list(gatehouse.Page{Page: page, PerPage: 100})
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if len(rows) < 100 {
			break
		}
	}
	return out, nil
}

func (h *Handler) userKeys(ctx context.Context, a *gatehouse.Actor, userID int64) ([]*gatehouse.Key, error) {
	return listAllPages(func(p gatehouse.Page) ([]*gatehouse.Key, error) {
		return h.cfg.Service.ListKeys(ctx, a, userID, p)
	})
}

// keyFormErrors words the service's refusal of a new key, or returns false
// when it is not a mistake in the form.
func keyFormErrors(loc *Localizer, err error, errs formErrors) bool {
	switch {
	case gatehouse.IsKind(err, gatehouse.Conflict):
		errs["key"] = loc.T("keys.err_taken")
	case isField(err, "title"):
		errs["title"] = loc.T("keys.err_title_long")
	case gatehouse.IsKind(err, gatehouse.Invalid):
		errs["key"] = loc.T("keys.err_key")
	default:
		return false
	}
	return true
}

// checkKeyForm catches what needs no service call: an empty key, and a
// private key pasted by mistake, which the form then does not show again.
func checkKeyForm(loc *Localizer, d *keyFormData) {
	switch {
	case strings.TrimSpace(d.Key) == "":
		d.Errors["key"] = loc.T("keys.err_blank")
	case strings.Contains(d.Key, "PRIVATE KEY"), strings.HasPrefix(d.Key, "PuTTY-User-Key-File"):
		d.Errors["key"] = loc.T("keys.err_private")
		d.Key = ""
	}
}

func (h *Handler) handleKeys(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	keys, err := h.userKeys(r.Context(), actor(r), viewer(r).ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := &keysData{}
	for _, k := range keys {
		d.Keys = append(d.Keys, h.keyRow(loc, k))
	}
	h.render(w, r, http.StatusOK, "keys", "keys.title", "keys", d)
}

func (h *Handler) handleKeyNew(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "key_new", "keys.new_title", "keys", &keyFormData{Errors: formErrors{}})
}

func (h *Handler) handleKeyCreate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	d := &keyFormData{Title: strings.TrimSpace(r.PostFormValue("title")), Key: strings.TrimSpace(r.PostFormValue("key")), Errors: formErrors{}}
	checkKeyForm(loc, d)
	if !d.Errors.Any() {
		k, err := h.cfg.Service.CreateKey(r.Context(), actor(r), viewer(r).ID, d.Title, d.Key)
		if err == nil {
			h.redirectFlash(w, r, "/settings/keys", &flash{Kind: "notice", Key: "keys.created", Args: []string{keyName(k.Title, k.Fingerprint)}})
			return
		}
		if !keyFormErrors(loc, err, d.Errors) {
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, "key_new", "keys.new_title", "keys", d)
}

// keyName is how a flash names a key: its title, else its fingerprint.
func keyName(title, fingerprint string) string {
	if title != "" {
		return title
	}
	return fingerprint
}

// keyID reads the {key} or {deploykey} wildcard, answering 404 when it is
// not an id.
func (h *Handler) keyID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return 0, false
	}
	return id, true
}

// ownKey loads the {key} key of the viewer; anyone else's is not found.
func (h *Handler) ownKey(w http.ResponseWriter, r *http.Request) (*gatehouse.Key, bool) {
	id, ok := h.keyID(w, r, "key")
	if !ok {
		return nil, false
	}
	k, err := h.cfg.Service.FindKey(r.Context(), actor(r), id)
	switch {
	case gatehouse.IsKind(err, gatehouse.NotFound):
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	case err != nil:
		h.serverError(w, r, err)
		return nil, false
	}
	return k, true
}

func (h *Handler) handleKeyDeleteForm(w http.ResponseWriter, r *http.Request) {
	k, ok := h.ownKey(w, r)
	if !ok {
		return
	}
	row := h.keyRow(stateOf(r).loc, k)
	h.render(w, r, http.StatusOK, "key_delete", "keys.delete_title", "keys", &keyFormData{Delete: &row})
}

func (h *Handler) handleKeyDelete(w http.ResponseWriter, r *http.Request) {
	k, ok := h.ownKey(w, r)
	if !ok {
		return
	}
	if err := h.cfg.Service.DeleteKey(r.Context(), actor(r), k.ID); err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		h.serverError(w, r, err)
		return
	}
	h.redirectFlash(w, r, "/settings/keys", &flash{Kind: "notice", Key: "keys.deleted", Args: []string{keyName(k.Title, k.Fingerprint)}})
}

// adminRepo loads the request's repository for its settings pages: the
// service decides that the viewer administers it, and those who do not
// are told there is nothing here, as for a repository they cannot see.
func (h *Handler) adminRepo(w http.ResponseWriter, r *http.Request) (*gatehouse.Repo, bool) {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	if !gatehouse.ValidLogin(owner) || !gatehouse.ValidRepoName(name) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	repo, _, err := h.cfg.Service.Repo(r.Context(), actor(r), owner, name, authz.Admin)
	if err != nil {
		h.refused(w, r, err)
		return nil, false
	}
	return repo, true
}

// deployKeysPath is the deploy key list of repo.
func deployKeysPath(repo *gatehouse.Repo) string {
	return "/" + repo.Owner + "/" + repo.Name + "/settings/keys"
}

func (h *Handler) handleDeployKeys(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	repo, ok := h.adminRepo(w, r)
	if !ok {
		return
	}
	keys, err := listAllPages(func(p gatehouse.Page) ([]*gatehouse.DeployKey, error) {
		return h.cfg.Service.ListDeployKeys(r.Context(), actor(r), repo, p)
	})
	if err != nil {
		h.refused(w, r, err)
		return
	}
	d := &keysData{Repo: repo}
	for _, k := range keys {
		d.Keys = append(d.Keys, h.deployKeyRow(loc, k))
	}
	h.render(w, r, http.StatusOK, "deploy_keys", "deploy_keys.title", "repo-keys", d)
}

func (h *Handler) handleDeployKeyNew(w http.ResponseWriter, r *http.Request) {
	repo, ok := h.adminRepo(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "deploy_key_new", "deploy_keys.new_title", "repo-keys", &keyFormData{Repo: repo, Errors: formErrors{}})
}

func (h *Handler) handleDeployKeyCreate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	repo, ok := h.adminRepo(w, r)
	if !ok {
		return
	}
	d := &keyFormData{Repo: repo, Title: strings.TrimSpace(r.PostFormValue("title")), Key: strings.TrimSpace(r.PostFormValue("key")),
		Write: r.PostFormValue("write") == "1", Errors: formErrors{}}
	checkKeyForm(loc, d)
	if !d.Errors.Any() {
		k, err := h.cfg.Service.CreateDeployKey(r.Context(), actor(r), repo, d.Title, d.Key, !d.Write)
		switch {
		case err == nil:
			h.redirectFlash(w, r, deployKeysPath(repo), &flash{Kind: "notice", Key: "deploy_keys.created", Args: []string{keyName(k.Title, k.Fingerprint)}})
			return
		case gatehouse.IsKind(err, gatehouse.NotFound), gatehouse.IsKind(err, gatehouse.Forbidden):
			// Administration was taken away since the page loaded.
			h.renderError(w, r, http.StatusNotFound, "error.not_found")
			return
		case !keyFormErrors(loc, err, d.Errors):
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, "deploy_key_new", "deploy_keys.new_title", "repo-keys", d)
}

// repoDeployKey loads the repository and its {deploykey} key; a key of
// another repository is not found.
func (h *Handler) repoDeployKey(w http.ResponseWriter, r *http.Request) (*gatehouse.Repo, *gatehouse.DeployKey, bool) {
	repo, ok := h.adminRepo(w, r)
	if !ok {
		return nil, nil, false
	}
	id, ok := h.keyID(w, r, "deploykey")
	if !ok {
		return nil, nil, false
	}
	k, err := h.cfg.Service.FindDeployKey(r.Context(), actor(r), repo, id)
	if err != nil {
		h.refused(w, r, err)
		return nil, nil, false
	}
	return repo, k, true
}

func (h *Handler) handleDeployKeyDeleteForm(w http.ResponseWriter, r *http.Request) {
	repo, k, ok := h.repoDeployKey(w, r)
	if !ok {
		return
	}
	row := h.deployKeyRow(stateOf(r).loc, k)
	h.render(w, r, http.StatusOK, "deploy_key_delete", "deploy_keys.delete_title", "repo-keys", &keyFormData{Repo: repo, Delete: &row})
}

func (h *Handler) handleDeployKeyDelete(w http.ResponseWriter, r *http.Request) {
	repo, k, ok := h.repoDeployKey(w, r)
	if !ok {
		return
	}
	if err := h.cfg.Service.DeleteDeployKey(r.Context(), actor(r), repo, k.ID); err != nil && !gatehouse.IsKind(err, gatehouse.NotFound) {
		h.refused(w, r, err)
		return
	}
	h.redirectFlash(w, r, deployKeysPath(repo), &flash{Kind: "notice", Key: "deploy_keys.deleted", Args: []string{keyName(k.Title, k.Fingerprint)}})
}

// handleUserKeysText serves /LOGIN.keys (handleOwner sends it here): the
// user's public keys, one authorized_keys line each, as plain text. The
// service decides who may list them (everyone, except anonymous visitors
// of an instance in private mode).
func (h *Handler) handleUserKeysText(w http.ResponseWriter, r *http.Request, login string) {
	notFound := func() {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "Not Found\n")
	}
	if !gatehouse.ValidLogin(login) {
		notFound()
		return
	}
	u, err := h.cfg.Service.FindUser(r.Context(), actor(r), login)
	var keys []*gatehouse.Key
	if err == nil {
		keys, err = h.userKeys(r.Context(), actor(r), u.ID)
	}
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.NotFound:
			notFound()
		case gatehouse.Unauthenticated:
			h.signIn(w, r)
		default:
			h.serverError(w, r, err)
		}
		return
	}
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.Key)
		b.WriteByte('\n')
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	// A deleted key must not linger in a cache.
	hdr.Set("Cache-Control", "no-cache")
	io.WriteString(w, b.String())
}
