package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// repoInput is the body of POST /user/repos, POST /orgs/{org}/repos and
// PATCH /repos/{o}/{r}.
// Fields GitHub has for features Gatehouse lacks (issues, wiki, projects,
// …) are accepted and ignored; the repository JSON reports them off.
type repoInput struct {
	Name              *string `json:"name"`
	Description       *string `json:"description"`
	Homepage          *string `json:"homepage"`
	Private           *bool   `json:"private"`
	Visibility        *string `json:"visibility"`
	AutoInit          bool    `json:"auto_init"`
	GitignoreTemplate string  `json:"gitignore_template"`
	LicenseTemplate   string  `json:"license_template"`
	DefaultBranch     *string `json:"default_branch"`
	Archived          *bool   `json:"archived"`
	// TeamID is GitHub's team to grant on an organization's new
	// repository (refused: grant it afterwards).
	TeamID int64 `json:"team_id"`
}

// private resolves private/visibility; visibility wins, as on GitHub.
func (in *repoInput) private() (*bool, error) {
	if in.Visibility != nil {
		var p bool
		switch strings.ToLower(*in.Visibility) {
		case "public":
		case "private":
			p = true
		case "internal":
			return nil, validation("Repository", "visibility", "invalid", "internal visibility is not supported by this server: use private")
		default:
			return nil, validation("Repository", "visibility", "invalid", "visibility must be public or private")
		}
		return &p, nil
	}
	return in.Private, nil
}

// unsupported refuses settings Gatehouse cannot keep rather than dropping
// them silently.
func (in *repoInput) unsupported() error {
	switch {
	case in.Homepage != nil && *in.Homepage != "":
		return validation("Repository", "homepage", "invalid", "homepage is not supported by this server")
	case in.GitignoreTemplate != "":
		return validation("Repository", "gitignore_template", "invalid", ".gitignore templates are not available on this server")
	case in.LicenseTemplate != "":
		return validation("Repository", "license_template", "invalid", "license templates are not available on this server")
	}
	return nil
}

// handleRepoCreate is POST /user/repos: 201 with the repository; with
// auto_init, the repository gets a first commit holding a README.
func (h *Handler) handleRepoCreate(rq *request) error {
	return h.createRepo(rq, rq.user())
}

// createRepo creates the repository the body describes for owner (the
// caller, or an organization of the caller's).
func (h *Handler) createRepo(rq *request, owner *gatehouse.User) error {
	var in repoInput
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.Name == nil || *in.Name == "" {
		return validation("Repository", "name", "missing_field", "")
	}
	if err := in.unsupported(); err != nil {
		return err
	}
	if in.Archived != nil && *in.Archived {
		return validation("Repository", "archived", "invalid", "a repository cannot be created archived: archive it afterwards")
	}
	if in.TeamID != 0 {
		return validation("Repository", "team_id", "invalid",
			"team_id is not supported by this server: grant the team afterwards with PUT /orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}")
	}
	priv, err := in.private()
	if err != nil {
		return err
	}
	private := priv != nil && *priv
	desc := ""
	if in.Description != nil {
		desc = *in.Description
	}
	repo, err := h.svc.CreateRepo(rq.Context(), rq.actor, service.NewRepo{
		Owner: owner.Login, Name: *in.Name, Description: desc, Private: private, Readme: in.AutoInit,
	})
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Conflict:
			return &invalid{message: "Repository creation failed.", errs: []fieldError{{
				Resource: "Repository", Code: "custom", Field: "name", Message: "name already exists on this account"}}}
		case gatehouse.Invalid:
			field := "name"
			var ge *gatehouse.Error
			if errors.As(err, &ge) && ge.Field != "" {
				field = ge.Field
			}
			return validation("Repository", field, "invalid", gatehouse.ErrorMessage(err))
		}
		if repo == nil {
			return err
		}
		// The repository exists but its first commit failed: say so in the
		// log and still answer with what was created.
		h.log.Error("auto_init failed", "repo", repo.FullName(), "err", err)
	}
	perm := gatehouse.PermAdmin
	if owner.IsOrg {
		// A member's role on the new repository follows from the
		// organization's grants, like on any of its repositories.
		if perm, err = h.svc.Role(rq.Context(), rq.actor, repo); err != nil {
			return err
		}
	}
	return rq.json(http.StatusCreated, h.repository(repo, owner, perm, true))
}

// handleRepoGet is GET /repos/{owner}/{repo}.
func (h *Handler) handleRepoGet(rq *request) error {
	repo, perm, err := rq.repo()
	if err != nil {
		return err
	}
	return h.writeRepo(rq, http.StatusOK, repo, perm)
}

func (h *Handler) writeRepo(rq *request, status int, repo *gatehouse.Repo, perm gatehouse.Permission) error {
	owner := rq.user()
	if owner == nil || owner.ID != repo.OwnerID {
		var err error
		if owner, err = h.svc.UserByID(rq.Context(), rq.actor, repo.OwnerID); err != nil {
			return err
		}
	}
	out := h.repository(repo, owner, perm, rq.user() != nil)
	// repository (wire.go) does not set archived yet, so listings still
	// say false; a single repository says it here.
	out.Archived = repo.Archived()
	return rq.json(status, out)
}

// msgArchived is GitHub's REST answer to a change of an archived
// repository (git shows authz.MsgArchived instead).
const msgArchived = "Repository was archived so is read-only."

// handleRepoPatch is PATCH /repos/{owner}/{repo}: description, visibility,
// default branch, name (the old one keeps redirecting) and archived. An
// archived repository answers 403 to anything but unarchiving it.
func (h *Handler) handleRepoPatch(rq *request) error {
	repo, perm, err := rq.repo()
	if err != nil {
		return err
	}
	var in repoInput
	if err := rq.decode(&in); err != nil {
		return err
	}
	if in.Name != nil && *in.Name == "" {
		return validation("Repository", "name", "missing_field", "")
	}
	if err := in.unsupported(); err != nil {
		return err
	}
	priv, err := in.private()
	if err != nil {
		return err
	}
	err = h.svc.UpdateRepo(rq.Context(), rq.actor, repo, service.RepoChange{
		Description: in.Description, Private: priv, DefaultBranch: in.DefaultBranch,
		Name: in.Name, Archived: in.Archived,
	})
	if err != nil {
		return repoChangeRefused(err)
	}
	return h.writeRepo(rq, http.StatusOK, repo, perm)
}

// repoChangeRefused words the service's refusal of a repository change as
// GitHub does: 403 for an archived repository, 422 naming the field for
// bad or taken values.
func repoChangeRefused(err error) error {
	if errors.Is(err, authz.ErrArchived) {
		return gatehouse.E("update repository", gatehouse.Forbidden, msgArchived)
	}
	switch gatehouse.ErrorKind(err) {
	case gatehouse.Conflict:
		return validation("Repository", "name", "custom", "name already exists on this account")
	case gatehouse.Invalid:
		field := "name"
		var ge *gatehouse.Error
		if errors.As(err, &ge) && ge.Field != "" {
			field = ge.Field
		}
		return validation("Repository", field, "invalid", gatehouse.ErrorMessage(err))
	}
	return err
}

// handleRepoDelete is DELETE /repos/{owner}/{repo}: 204. The route needs
// the delete_repo scope and the admin role.
func (h *Handler) handleRepoDelete(rq *request) error {
	repo, _, err := rq.repo()
	if err != nil {
		return err
	}
	if err := h.svc.DeleteRepo(rq.Context(), rq.actor, repo); err != nil {
		return err
	}
	return rq.noContent()
}

// maxReadme bounds the README the API returns.
const maxReadme = 1 << 20

// wrap60 breaks base64 text into lines of 60 characters, as GitHub's
// contents API does.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	return b.String()
}
