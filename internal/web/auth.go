package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/service"
)

// setupData is the first-run form.
type setupData struct {
	Code   string
	Login  string
	Email  string
	Name   string
	Errors formErrors
}

func (h *Handler) handleSetupForm(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	if err := h.cfg.Service.CheckSetupCode(r.Context(), code); err != nil {
		h.setupRefused(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "setup", "setup.title", "", &setupData{Code: code})
}

func (h *Handler) handleSetup(w http.ResponseWriter, r *http.Request) {
	if !h.checkCSRF(r) {
		h.renderError(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	loc := stateOf(r).loc
	d := &setupData{
		Code:   r.PostFormValue("code"),
		Login:  strings.TrimSpace(r.PostFormValue("login")),
		Email:  strings.TrimSpace(r.PostFormValue("email")),
		Name:   strings.TrimSpace(r.PostFormValue("name")),
		Errors: formErrors{},
	}
	if err := h.cfg.Service.CheckSetupCode(r.Context(), d.Code); err != nil {
		h.setupRefused(w, r, err)
		return
	}
	pw := r.PostFormValue("password")
	nu := service.NewUser{Login: d.Login, Email: d.Email, Name: d.Name, Password: pw}
	for _, err := range service.NewUserProblems(nu, true) {
		accountErrors(loc, nu, err, d.Errors)
	}
	if _, short := d.Errors["password"]; !short && pw != r.PostFormValue("password_confirm") {
		d.Errors["password_confirm"] = loc.T("form.password_mismatch")
	}
	if d.Errors.Any() {
		h.render(w, r, http.StatusUnprocessableEntity, "setup", "setup.title", "", d)
		return
	}
	u, err := h.cfg.Service.CompleteSetup(r.Context(), actor(r), d.Code, nu)
	if err != nil {
		switch gatehouse.ErrorKind(err) {
		case gatehouse.Forbidden:
			h.setupRefused(w, r, err)
		case gatehouse.Invalid, gatehouse.Conflict:
			accountErrors(loc, nu, err, d.Errors)
			h.render(w, r, http.StatusUnprocessableEntity, "setup", "setup.title", "", d)
		default:
			h.serverError(w, r, err)
		}
		return
	}
	if err := h.startSession(w, r, u); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// setupRefused says why a setup link does not work: setup is done (the
// instance has accounts), or the link is not the current one.
func (h *Handler) setupRefused(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, service.ErrSetupDone):
		h.renderError(w, r, http.StatusNotFound, "setup.done")
	case gatehouse.IsKind(err, gatehouse.Forbidden):
		h.renderError(w, r, http.StatusNotFound, "setup.invalid")
	default:
		h.serverError(w, r, err)
	}
}

// accountErrors words the service's refusal of nu for the form field it
// concerns; a reserved login says so, as the service does.
func accountErrors(loc *Localizer, nu service.NewUser, err error, errs formErrors) {
	switch {
	case isField(err, "login") && gatehouse.ValidLogin(nu.Login) && gatehouse.ReservedLogin(nu.Login):
		errs["login"] = loc.T("form.login_reserved", nu.Login)
	case isField(err, "login"):
		errs["login"] = loc.T("form.login_invalid")
	case isField(err, "email"):
		errs["email"] = loc.T("form.email_invalid")
	case isField(err, "password"):
		errs["password"] = loc.T("form.password_short")
	default:
		errs[""] = gatehouse.ErrorMessage(err)
	}
}

// loginData is the sign-in form.
type loginData struct {
	Login    string
	ReturnTo string
	Error    string
}

func (h *Handler) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	ret := safeReturn(r.URL.Query().Get("return_to"))
	if viewer(r) != nil {
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", "login.title", "", &loginData{ReturnTo: ret})
}

func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !h.checkCSRF(r) {
		h.renderError(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	loc := stateOf(r).loc
	d := &loginData{Login: strings.TrimSpace(r.PostFormValue("login")), ReturnTo: safeReturn(r.PostFormValue("return_to"))}
	u, err := h.cfg.Service.SignIn(r.Context(), actor(r), d.Login, r.PostFormValue("password"))
	switch {
	case err == nil:
	case errors.Is(err, service.ErrLockedOut):
		d.Error = loc.T("login.locked")
		h.render(w, r, http.StatusTooManyRequests, "login", "login.title", "", d)
		return
	case errors.Is(err, service.ErrBusy):
		d.Error = loc.T("login.busy")
		w.Header().Set("Retry-After", strconv.Itoa(service.BusyRetry))
		h.render(w, r, http.StatusServiceUnavailable, "login", "login.title", "", d)
		return
	case errors.Is(err, service.ErrSuspended):
		d.Error = loc.T("login.suspended")
		h.render(w, r, http.StatusForbidden, "login", "login.title", "", d)
		return
	case gatehouse.IsKind(err, gatehouse.Unauthenticated):
		d.Error = loc.T("login.failed")
		h.render(w, r, http.StatusUnauthorized, "login", "login.title", "", d)
		return
	default:
		h.serverError(w, r, err)
		return
	}
	if err := h.startSession(w, r, u); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, d.ReturnTo, http.StatusSeeOther)
}

func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) {
	if s := session(r); s != nil {
		if err := h.cfg.Service.EndSession(r.Context(), actor(r), s); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// sudoData is the password prompt of sudo mode.
type sudoData struct {
	ReturnTo string
	Error    string
}

func (h *Handler) renderSudo(w http.ResponseWriter, r *http.Request, returnTo, errMsg string, status int) {
	h.render(w, r, status, "sudo", "sudo.title", "", &sudoData{ReturnTo: safeReturn(returnTo), Error: errMsg})
}

func (h *Handler) handleSudoForm(w http.ResponseWriter, r *http.Request) {
	h.renderSudo(w, r, r.URL.Query().Get("return_to"), "", http.StatusOK)
}

func (h *Handler) handleSudo(w http.ResponseWriter, r *http.Request) {
	loc := stateOf(r).loc
	ret := safeReturn(r.PostFormValue("return_to"))
	err := h.cfg.Service.ConfirmPassword(r.Context(), actor(r), r.PostFormValue("password"))
	switch {
	case err == nil:
	case errors.Is(err, service.ErrLockedOut):
		h.renderSudo(w, r, ret, loc.T("login.locked"), http.StatusTooManyRequests)
		return
	case errors.Is(err, service.ErrBusy):
		w.Header().Set("Retry-After", strconv.Itoa(service.BusyRetry))
		h.renderSudo(w, r, ret, loc.T("login.busy"), http.StatusServiceUnavailable)
		return
	case gatehouse.IsKind(err, gatehouse.Unauthenticated):
		h.renderSudo(w, r, ret, loc.T("sudo.failed"), http.StatusUnauthorized)
		return
	default:
		h.serverError(w, r, err)
		return
	}
	s := session(r)
	s.SudoUntil = h.now().Add(sudoLifetime)
	s.SeenAt = h.now()
	if err := h.cfg.Service.SaveSession(r.Context(), actor(r), s); err != nil {
		h.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}
