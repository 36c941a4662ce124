"""The reviewer console in headless Chromium: what a reviewer does all day.

Tests run in file order and share one browser; each saves a screenshot of
the pages it visits.
"""
import os
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import PASSWORD


def shot(browser, shots, name):
    """Full-page screenshot: the window grows to the page's height first."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1440, max(1000, min(height, 6000)))
    browser.save_screenshot(os.path.join(shots, f"{name}.png"))
    browser.set_window_size(1440, 1000)


def submit(browser, element):
    """Clicks a submit button (scrolled into view) and waits for the next page."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    old = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 10).until(lambda d: old.id != d.find_element(By.TAG_NAME, "html").id)


def enter(browser, element, *keys):
    """Types into a field and presses Enter, waiting for the next page."""
    old = browser.find_element(By.TAG_NAME, "html")
    element.send_keys(*keys, Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: old.id != d.find_element(By.TAG_NAME, "html").id)


def sign_in(browser, server, email, password=PASSWORD):
    browser.delete_all_cookies()
    browser.get(server.base + "/console/login")
    browser.find_element(By.ID, "email").send_keys(email)
    enter(browser, browser.find_element(By.ID, "password"), password)


def use_sandbox(browser):
    Select(browser.find_element(By.ID, "env")).select_by_value("sandbox")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.env-switch button"))
    assert "Sandbox environment" in browser.page_source


def status_of(browser):
    return browser.find_element(By.ID, "session-status").text


def test_sign_in_with_the_keyboard_and_a_wrong_password(browser, server, shots):
    browser.get(server.base + "/console/queue")
    assert "/console/login" in browser.current_url
    shot(browser, shots, "01-sign-in")
    sign_in(browser, server, "rita@example.com", "not the password")
    assert "The email or password is not right." in browser.find_element(By.ID, "login-error").text
    shot(browser, shots, "02-sign-in-refused")
    # Keyboard only: the email field has focus, Tab moves to the password.
    browser.get(server.base + "/console/login")
    active = browser.switch_to.active_element
    assert active.get_attribute("id") == "email"
    active.send_keys("rita@example.com", Keys.TAB)
    enter(browser, browser.switch_to.active_element, PASSWORD)
    assert browser.current_url.endswith("/console/queue")
    assert "Sessions in review" in browser.page_source


def test_work_a_session_from_the_queue_to_approved(browser, server, sandbox, shots):
    sign_in(browser, server, "rita@example.com")
    use_sandbox(browser)
    time.sleep(4)  # past the 3.6 s SLA the server was given
    browser.refresh()
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[5].text for r in rows][:3] == ["console-a", "console-b", "console-c"], "oldest first"
    assert "Overdue" in rows[0].text and "overdue on this page" in browser.page_source
    shot(browser, shots, "03-queue")
    submit(browser, rows[0].find_element(By.XPATH, ".//button[contains(., 'Assign to me')]"))
    first = browser.find_element(By.XPATH, "//tr[td[contains(., 'console-a')]]")
    assert "rita@example.com" in first.text and "you" in first.text
    Select(browser.find_element(By.ID, "f-assignee")).select_by_value("me")
    submit(browser, browser.find_element(By.XPATH, "//button[.='Apply filters']"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")) == 1
    shot(browser, shots, "04-queue-assigned-to-me")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "a.session-link"))
    assert status_of(browser) == "In Review"
    assert "Ana" in browser.page_source, "the submitted personal data is shown"
    portrait = browser.find_element(By.CSS_SELECTOR, "figure.portrait img")
    assert browser.execute_script("return arguments[0].naturalWidth", portrait) == 60, "the portrait image renders"
    assert "feature_aml" in browser.page_source
    shot(browser, shots, "05-session-in-review")
    browser.find_element(By.ID, "comment").send_keys("AML match is a namesake; date of birth differs.")
    submit(browser, browser.find_element(By.ID, "approve"))
    assert status_of(browser) == "Approved"
    assert "Approved." in browser.find_element(By.ID, "notice").text
    history = browser.find_element(By.ID, "history").text
    assert "rita@example.com" in history and "AML match is a namesake" in history
    shot(browser, shots, "06-session-approved")
    decision = server.request("GET", f"/v3/session/{sandbox['sessions']['a']}/decision/", sandbox["key"])
    assert decision["status"] == "Approved"
    assert decision["reviews"][-1]["actor"].startswith("console:")


def test_request_resubmission_of_two_steps(browser, server, sandbox, shots):
    browser.get(f"{server.base}/console/sessions/{sandbox['sessions']['b']}")
    for box in browser.find_elements(By.CSS_SELECTOR, "#resubmit-form input[name=nodes]"):
        if box.is_selected():
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
            box.click()
    submit(browser, browser.find_element(By.ID, "resubmit"))
    assert "Choose at least one step" in browser.find_element(By.ID, "error").text
    shot(browser, shots, "07-resubmission-refused")
    for node in ("n-feature_ocr", "n-feature_liveness"):
        box = browser.find_element(By.ID, node)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
        box.click()
    browser.find_element(By.ID, "resubmit-comment").send_keys("The document photo is blurred.")
    Select(browser.find_element(By.ID, "email_language")).select_by_value("es")
    email = browser.find_element(By.ID, "send_email")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", email)
    email.click()
    submit(browser, browser.find_element(By.ID, "resubmit"))
    # The email is shown first; nothing has changed yet.
    assert browser.find_element(By.ID, "preview-recipient").text == "bruno@example.com"
    assert "Bruno" in browser.find_element(By.ID, "preview-text").text
    assert status_of(browser) == "In Review"
    shot(browser, shots, "08a-email-preview")
    submit(browser, browser.find_element(By.ID, "confirm-with-email"))
    assert status_of(browser) == "Resubmitted"
    shot(browser, shots, "08-session-resubmitted")
    decision = server.request("GET", f"/v3/session/{sandbox['sessions']['b']}/decision/", sandbox["key"])
    assert decision["status"] == "Resubmitted"
    assert sorted(decision["resubmit_info"]["nodes"]) == ["feature_liveness", "feature_ocr"]


def test_a_form_without_its_csrf_token_is_refused(browser, server, sandbox, shots):
    browser.get(f"{server.base}/console/sessions/{sandbox['sessions']['c']}")
    browser.execute_script("document.querySelector('#decision-form input[name=_csrf]').remove()")
    submit(browser, browser.find_element(By.ID, "approve"))
    assert "This form was refused" in browser.page_source
    shot(browser, shots, "09-csrf-refused")
    browser.get(f"{server.base}/console/sessions/{sandbox['sessions']['c']}")
    assert status_of(browser) == "In Review"


def test_operations_pages(browser, server, sandbox, shots):
    browser.get(server.base + "/console/deliveries")
    rows = browser.find_elements(By.CSS_SELECTOR, "#deliveries tbody tr")
    assert rows, "the 410 receiver made deliveries fail"
    shot(browser, shots, "10-failed-deliveries")
    submit(browser, rows[0].find_element(By.XPATH, ".//button[.='Resend']"))
    assert "Queued to be sent again" in browser.find_element(By.ID, "notice").text
    browser.get(f"{server.base}/console/audit?subject_id={sandbox['sessions']['a']}")
    trail = browser.find_element(By.ID, "audit").text
    assert "session.personal_data_viewed" in trail and "rita@example.com" in trail
    shot(browser, shots, "11-audit-trail")
    assert "/console/keys" not in browser.page_source
    browser.get(server.base + "/console/keys")
    assert "You do not have access" in browser.page_source


def test_four_eyes_needs_a_second_reviewer(browser, server, sandbox, shots):
    path = f"{server.base}/console/sessions/{sandbox['sessions']['four_eyes']}"
    browser.get(path)
    approve = browser.find_element(By.ID, "approve")
    assert approve.text == "Approve (1 of 2)"
    submit(browser, approve)
    assert status_of(browser) == "In Review"
    assert "second reviewer must confirm" in browser.find_element(By.ID, "notice").text
    assert "rita@example.com" in browser.find_element(By.ID, "first-approval").text
    assert "A different reviewer must confirm it." in browser.find_element(By.ID, "first-approval").text
    assert not browser.find_elements(By.ID, "approve"), "no button for the first approver to confirm themselves"
    shot(browser, shots, "12-four-eyes-first-approval")

    sign_in(browser, server, "sam@example.com")
    use_sandbox(browser)
    browser.get(path)
    confirm = browser.find_element(By.ID, "approve")
    assert confirm.text == "Confirm approval"
    submit(browser, confirm)
    assert status_of(browser) == "Approved"
    history = browser.find_element(By.ID, "history").text
    assert "sam@example.com" in history and "first approval by rita@example.com" in history
    shot(browser, shots, "13-four-eyes-confirmed")


def test_admin_creates_an_api_key(browser, server, sandbox, shots):
    sign_in(browser, server, "ada@example.com")
    browser.get(server.base + "/console/keys")
    browser.find_element(By.ID, "k-name").send_keys("partner portal")
    box = browser.find_element(By.ID, "p-read:sessions")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()
    submit(browser, browser.find_element(By.XPATH, "//button[.='Create key']"))
    assert "clr_" in browser.find_element(By.ID, "created-key").text
    server.secrets.append(browser.find_element(By.ID, "created-key").text.strip())
    shot(browser, shots, "14-api-keys")
    browser.get(server.base + "/console/users")
    assert "rita@example.com" in browser.find_element(By.ID, "users").text
    shot(browser, shots, "15-users")


def test_reject_a_kyc_version_with_a_short_then_a_valid_reason(browser, server, kyc, shots):
    sign_in(browser, server, "kim@example.com")
    assert browser.current_url.endswith("/console/kyc"), "a KYC reviewer lands on the KYC queue"
    shot(browser, shots, "16-kyc-queue")
    submit(browser, browser.find_element(By.CSS_SELECTOR, f"a[href='/console/kyc/versions/{kyc['version']}']"))
    changed = browser.find_element(By.CSS_SELECTOR, "#fields tr.changed").text
    assert "Martin-Durand" in changed and "Martin" in changed, "the change against version 1 is marked"
    passport = browser.find_element(By.CSS_SELECTOR, ".document img")
    assert browser.execute_script("return arguments[0].naturalWidth", passport) == 320, "the passport image renders"
    shot(browser, shots, "17-kyc-version")
    browser.find_element(By.ID, "rejection_reason").send_keys("Blurry")
    submit(browser, browser.find_element(By.ID, "reject"))
    assert "at least 10 characters" in browser.find_element(By.ID, "error").text
    assert browser.find_element(By.ID, "version-status").text == "under_review"
    shot(browser, shots, "18-kyc-reject-refused")
    reason = browser.find_element(By.ID, "rejection_reason")
    reason.clear()
    reason.send_keys("The passport image is too blurred to read the name.")
    submit(browser, browser.find_element(By.ID, "reject"))
    assert browser.find_element(By.ID, "version-status").text == "rejected"
    assert "Rejected." in browser.find_element(By.ID, "notice").text
    shot(browser, shots, "19-kyc-rejected")
    version = server.request("GET", f"/api/v2/kyc-profile-versions/{kyc['version']}", server.admin_key)["data"]
    assert version["status"] == "rejected" and version["reviewedBy"].startswith("console:")


def test_a_reviewer_without_a_kyc_role_sees_no_kyc_pages(browser, server, shots):
    sign_in(browser, server, "rita@example.com")
    assert "KYC" not in browser.find_element(By.CSS_SELECTOR, "header.top nav").text
    browser.get(server.base + "/console/kyc")
    assert "You do not have access" in browser.page_source
    shot(browser, shots, "20-kyc-refused")
    sign_in(browser, server, "kim@example.com")
    nav = browser.find_element(By.CSS_SELECTOR, "header.top nav").text
    assert "KYC reviews" in nav and "Sessions queue" not in nav
    shot(browser, shots, "21-kyc-queue-for-kim")
    submit(browser, browser.find_element(By.XPATH, "//button[.='Sign out']"))
    assert "/console/login" in browser.current_url


def test_the_cli_lists_and_disables_users(browser, server):
    listed = server.cli("users", "list")
    assert listed.returncode == 0 and "rita@example.com" in listed.stdout and "$2" not in listed.stdout
    assert server.cli("users", "disable", "sam@example.com").returncode == 0
    sign_in(browser, server, "sam@example.com")
    assert "The email or password is not right." in browser.page_source
    short = server.cli("users", "create", "--email", "x@example.com", "--role", "reviewer", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 12" in short.stderr


def test_no_password_cookie_token_or_personal_data_in_the_log(browser, server):
    # The server logs no line per request; this guards every line it does
    # write (start-up, database, workers, errors) at trace level.
    assert "data key" in open(server.log_path).read(), "the log is being written"
    cookies = [c["value"] for c in browser.get_cookies() if c["name"].startswith("clearance")]
    sign_in(browser, server, "ada@example.com")
    cookies += [c["value"] for c in browser.get_cookies() if c["name"].startswith("clearance")]
    log = open(server.log_path).read()
    personal = ["Bruno", "Chloé", "ana@example.com", "García", "1990-04-02",
                "Léa", "Martin-Durand", "lea@example.com", "1990-01-31", "FR123456"]
    assert len(server.secrets) >= 4, "the keys and the webhook secret were recorded"
    for secret in [PASSWORD, *personal, *cookies, *server.secrets]:
        assert secret not in log, f"a secret or personal data reached the log: {secret[:3]}…"
