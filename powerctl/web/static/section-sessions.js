// Session tokens: revoke one.
import { act, call, onClick, segment } from "./core.js";

onClick("revoke-session", async (button) => {
  await act(button, ["sessions"], () => call("DELETE", `/restapi/auth/sessions/${segment(button.dataset.jti)}/`),
    "Session token revoked: refused from its next request.");
});
