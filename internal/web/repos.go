package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
)

// reposData lists repositories.
type reposData struct {
	Owner *gatehouse.User // nil on the dashboard
	Repos []*gatehouse.Repo
}

func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request) {
	u := viewer(r)
	if u == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	repos, err := h.cfg.Service.ListOwnRepos(r.Context(), actor(r), false, false, gatehouse.Page{PerPage: 100})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "home", "home.title", "repos", &reposData{Repos: repos})
}

func (h *Handler) handleOwner(w http.ResponseWriter, r *http.Request) {
	login := r.PathValue("owner")
	// /USER.keys: a wildcard cannot end in a fixed suffix.
	if user, ok := strings.CutSuffix(login, ".keys"); ok {
		h.handleUserKeysText(w, r, user)
		return
	}
	if !gatehouse.ValidLogin(login) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	owner, err := h.cfg.Service.FindUser(r.Context(), actor(r), login)
	if err == nil && owner.IsOrg {
		h.orgPage(w, r, owner)
		return
	}
	if err == nil {
		var repos []*gatehouse.Repo
		if repos, err = h.cfg.Service.ListRepos(r.Context(), actor(r), owner, false, gatehouse.Page{PerPage: 100}); err == nil {
			h.render(w, r, http.StatusOK, "profile", "profile.title", "", &reposData{Owner: owner, Repos: repos})
			return
		}
	}
	switch gatehouse.ErrorKind(err) {
	case gatehouse.NotFound:
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
	case gatehouse.Unauthenticated:
		h.signIn(w, r)
	default:
		h.serverError(w, r, err)
	}
}

// maxReadme is the largest README the repository page renders.
const maxReadme = 512 << 10

// repoData is the repository page.
type repoData struct {
	Repo       *gatehouse.Repo
	CloneURL   string
	Files      []gitrepo.Entry
	Empty      bool
	ReadmeName string
	Readme     template.HTML
	CanPush    bool

	// SSHCloneURL is "" when the server does not serve SSH; CanAdmin
	// links the repository's settings.
	SSHCloneURL string
	CanAdmin    bool
}

func (h *Handler) handleRepo(w http.ResponseWriter, r *http.Request) {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	// Names are checked before the redirect: /%2Fevil.example/x.git must
	// not become Location: //evil.example/x, a link to another site.
	if trimmed, ok := strings.CutSuffix(name, ".git"); ok && trimmed != "" && gatehouse.ValidLogin(owner) && gatehouse.ValidRepoName(trimmed) {
		http.Redirect(w, r, "/"+owner+"/"+trimmed, http.StatusMovedPermanently)
		return
	}
	if !gatehouse.ValidLogin(owner) || !gatehouse.ValidRepoName(name) {
		h.renderError(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	repo, perm, err := h.cfg.Service.Repo(r.Context(), actor(r), owner, name, authz.Read)
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Unauthenticated:
			if h.cfg.Service.PrivateMode() {
				h.signIn(w, r)
				return
			}
			h.renderError(w, r, http.StatusNotFound, "error.not_found")
		case gatehouse.NotFound, gatehouse.Forbidden:
			h.renderError(w, r, http.StatusNotFound, "error.not_found")
		default:
			h.serverError(w, r, err)
		}
		return
	}
	d := &repoData{
		Repo:     repo,
		CloneURL: h.cfg.ExternalURL + "/" + repo.Owner + "/" + repo.Name + ".git",
		CanPush:  perm >= gatehouse.PermWrite,
		CanAdmin: perm >= gatehouse.PermAdmin,
	}
	if h.cfg.SSHCloneURL != nil {
		d.SSHCloneURL = h.cfg.SSHCloneURL(repo.FullName())
	}
	files, err := h.cfg.Repos.Tree(r.Context(), repo.ID, repo.DefaultBranch)
	switch {
	case errors.Is(err, gitrepo.ErrNoBranch):
		d.Empty = true
	case err != nil:
		h.serverError(w, r, err)
		return
	default:
		d.Files = files
		if readme := findReadme(files); readme != "" {
			content, err := h.cfg.Repos.ReadFile(r.Context(), repo.ID, repo.DefaultBranch, readme, maxReadme)
			switch {
			case errors.Is(err, gitrepo.ErrTooLarge):
			case err != nil:
				h.serverError(w, r, err)
				return
			default:
				d.ReadmeName, d.Readme = readme, h.readmes.render(readmeBase{Repo: repo.FullName(), Ref: repo.DefaultBranch}, readme, content)
			}
		}
	}
	h.render(w, r, http.StatusOK, "repo", "repo.title", "", d)
}

// findReadme picks the README among the top-level files: Markdown first,
// then plain text, case-insensitively.
func findReadme(files []gitrepo.Entry) string {
	best, rank := "", 99
	for _, f := range files {
		if f.Type != "blob" {
			continue
		}
		for i, n := range []string{"readme.md", "readme.markdown", "readme", "readme.txt"} {
			if strings.EqualFold(f.Name, n) && i < rank {
				best, rank = f.Name, i
			}
		}
	}
	return best
}

// repoNewData is the new-repository form.
type repoNewData struct {
	// Owner is the chosen owner's login; Owners lists the viewer and the
	// organizations they belong to (the picker shows only with more than
	// one).
	Owner       string
	Owners      []choice
	Name        string
	Description string
	Private     bool
	Readme      bool
	Errors      formErrors
}

// repoOwners lists who the viewer may create a repository for: themself
// and each organization they belong to (members create an organization's
// repositories, as the service allows), owner selected.
func (h *Handler) repoOwners(r *http.Request, owner string) ([]choice, error) {
	u := viewer(r)
	out := []choice{{Value: u.Login, Label: u.Login}}
	orgs, err := h.cfg.Service.ListUserOrgs(r.Context(), actor(r), gatehouse.Page{PerPage: listAll})
	if err != nil {
		return nil, err
	}
	for _, m := range orgs {
		out = append(out, choice{Value: m.Org.Login, Label: m.Org.Login})
	}
	found := false
	for i := range out {
		if strings.EqualFold(out[i].Value, owner) && !found {
			out[i].Selected, found = true, true
		}
	}
	if !found {
		out[0].Selected = true
	}
	return out, nil
}

func (h *Handler) handleRepoNew(w http.ResponseWriter, r *http.Request) {
	owners, err := h.repoOwners(r, r.URL.Query().Get("owner"))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "repo_new", "repo_new.title", "repos", &repoNewData{Owners: owners, Private: true, Errors: formErrors{}})
}

func (h *Handler) handleRepoCreate(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	u := viewer(r)
	d := &repoNewData{
		Owner:       strings.TrimSpace(r.PostFormValue("owner")),
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Private:     r.PostFormValue("visibility") != "public",
		Readme:      r.PostFormValue("readme") == "1",
		Errors:      formErrors{},
	}
	if d.Owner == "" {
		d.Owner = u.Login
	}
	owners, err := h.repoOwners(r, d.Owner)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.Owners = owners
	if !gatehouse.ValidRepoName(d.Name) {
		d.Errors["name"] = loc.T("repo_new.err_name")
	}
	if !gatehouse.ValidLogin(d.Owner) {
		d.Errors["owner"] = loc.T("repo_new.err_owner")
	}
	if !d.Errors.Any() {
		repo, err := h.cfg.Service.CreateRepo(r.Context(), actor(r),
			service.NewRepo{Owner: d.Owner, Name: d.Name, Description: d.Description, Private: d.Private, Readme: d.Readme})
		switch {
		case err == nil:
			http.Redirect(w, r, "/"+repo.Owner+"/"+repo.Name, http.StatusSeeOther)
			return
		case gatehouse.IsKind(err, gatehouse.Conflict) && strings.EqualFold(d.Owner, u.Login):
			d.Errors["name"] = loc.T("repo_new.err_taken")
		case gatehouse.IsKind(err, gatehouse.Conflict):
			d.Errors["name"] = loc.T("repo_new.err_taken_owner", d.Owner)
		case gatehouse.IsKind(err, gatehouse.Forbidden), gatehouse.IsKind(err, gatehouse.NotFound):
			d.Errors["owner"] = loc.T("repo_new.err_owner")
		case isField(err, "description"):
			d.Errors["description"] = loc.T("repo_new.err_description")
		case gatehouse.IsKind(err, gatehouse.Invalid):
			d.Errors["name"] = loc.T("repo_new.err_name")
		default:
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, "repo_new", "repo_new.title", "repos", d)
}
