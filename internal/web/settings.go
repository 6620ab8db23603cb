package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse"
)

// profileData is the profile settings form.
type profileData struct {
	Name, Email, Locale string
	Languages           []languageOption
	Errors              formErrors
}

type languageOption struct {
	Value, Label string
	Selected     bool
}

func (h *Handler) profileData(loc *Localizer, name, email, locale string) *profileData {
	d := &profileData{Name: name, Email: email, Locale: locale, Errors: formErrors{}}
	d.Languages = append(d.Languages, languageOption{Value: "", Label: loc.T("settings.language_browser"), Selected: locale == ""})
	for _, l := range Languages {
		// Each language is named in itself, so that someone who cannot
		// read the current one still finds theirs.
		d.Languages = append(d.Languages, languageOption{Value: l, Label: localizer(l).T("language.name"), Selected: locale == l})
	}
	return d
}

func (h *Handler) handleProfileForm(w http.ResponseWriter, r *http.Request) {
	u := viewer(r)
	h.render(w, r, http.StatusOK, "settings_profile", "settings.profile_title", "profile", h.profileData(stateOf(r).loc, u.Name, u.Email, u.Locale))
}

func (h *Handler) handleProfile(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	name, email, locale := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("email")), r.PostFormValue("locale")
	// The address receives the account's security mail (leaked and
	// expiring tokens): changing it is as sensitive as making a token.
	if !strings.EqualFold(email, viewer(r).Email) {
		if s := session(r); s == nil || !s.SudoUntil.After(h.now()) {
			h.renderSudo(w, r, "/settings/profile", "", http.StatusUnauthorized)
			return
		}
	}
	_, err := h.cfg.Service.UpdateProfile(r.Context(), actor(r), viewer(r).ID, name, email, locale)
	if err != nil {
		d := h.profileData(loc, name, email, locale)
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Conflict:
			d.Errors["email"] = loc.T("settings.err_email_taken")
		case gatehouse.Invalid:
			var field string
			if ge, ok := err.(*gatehouse.Error); ok {
				field = ge.Field
			}
			switch field {
			case "email":
				d.Errors["email"] = loc.T("form.email_invalid")
			case "name":
				d.Errors["name"] = loc.T("settings.err_name_long")
			default:
				d.Errors[""] = gatehouse.ErrorMessage(err)
			}
		default:
			h.serverError(w, r, err)
			return
		}
		h.render(w, r, http.StatusUnprocessableEntity, "settings_profile", "settings.profile_title", "profile", d)
		return
	}
	h.redirectFlash(w, r, "/settings/profile", &flash{Kind: "notice", Key: "settings.saved"})
}

func (h *Handler) handleDevelopers(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "settings_developers", "settings.developer_title", "developers", nil)
}
