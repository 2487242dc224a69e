// Runs with node and the official LeanCloud JS SDK (npm leancloud-storage 4.15.2), unchanged.
// Environment: SERVER_URL, APP_ID, APP_KEY, PHONES (three numbers, comma-separated), USERNAME,
// OUTBOX. Drives the user API's flows and prints one JSON object of what happened; the pytest
// side asserts on it.
const fs = require('fs');
const AV = require('leancloud-storage');

AV.init({ appId: process.env.APP_ID, appKey: process.env.APP_KEY, serverURL: process.env.SERVER_URL });
const [first, second, third] = process.env.PHONES.split(',');
const username = process.env.USERNAME;
const seen = {};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function nextCode(phone) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const texts = fs.existsSync(process.env.OUTBOX)
      ? fs.readFileSync(process.env.OUTBOX, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
        .filter((m) => m.to === phone).map((m) => m.text)
      : [];
    if (texts.length > (seen[phone] || 0)) {
      seen[phone] = texts.length;
      return texts[texts.length - 1].split('】').pop().match(/(\d{6})/)[1];
    }
    await sleep(100);
  }
  throw new Error(`no new code for ${phone} arrived in the outbox`);
}

// What the SDK tells the app of a failed call: LeanCloud's code and text, and the HTTP status that
// the SDK names at the end of its message ("... [400 POST http://...]").
const errorOf = (promise) => promise.then(() => null, (error) => ({
  code: error.code,
  error: error.rawMessage,
  status: Number((/ \[(\d+) /.exec(error.message) || [])[1]),
}));

async function main() {
  const report = {};

  // Sign up or log in by phone with a requestSmsCode code.
  await AV.Cloud.requestSmsCode(first);
  const user = await AV.User.signUpOrlogInWithMobilePhone(first, await nextCode(first));
  report.phoneSignUp = {
    id: user.id, username: user.getUsername(), phone: user.getMobilePhoneNumber(),
    verified: user.get('mobilePhoneVerified'), hasToken: Boolean(user.getSessionToken()),
    createdAtIsDate: user.createdAt instanceof Date && !isNaN(user.createdAt),
    current: AV.User.current().id,
  };

  // Log in with an SMS login code.
  await AV.User.requestLoginSmsCode(first);
  const byCode = await AV.User.logInWithMobilePhoneSmsCode(first, await nextCode(first));
  report.smsLogin = { id: byCode.id, newToken: byCode.getSessionToken() !== user.getSessionToken() };

  // Verify a number: the JS SDK sends the code alone, with a null body.
  const unverified = await AV.User.signUp(`${username}-verify`, 'pw1', { mobilePhoneNumber: second });
  const before = unverified.get('mobilePhoneVerified');
  await AV.User.requestMobilePhoneVerify(second);
  const answer = await AV.User.verifyMobilePhone(await nextCode(second));
  await unverified.fetch();
  report.verify = { before, after: unverified.get('mobilePhoneVerified'), answerId: answer.objectId,
    answerHasUpdatedAt: typeof answer.updatedAt === 'string' };

  // Reset a password by SMS: the JS SDK sends no number; the old session ends.
  await AV.User.requestPasswordResetBySmsCode(first);
  await AV.User.resetPasswordBySmsCode(await nextCode(first), 'new-pw');
  const relogged = await AV.User.logInWithMobilePhone(first, 'new-pw');
  report.reset = {
    id: relogged.id,
    oldSessionAuthenticated: await user.isAuthenticated(),
    oldPassword: await errorOf(AV.User.logInWithMobilePhone(first, 'no-such-pw')),
  };

  // Change the logged-in user's number.
  const again = await AV.User.logInWithMobilePhone(first, 'new-pw');
  await AV.User.requestChangePhoneNumber(third);
  await AV.User.changePhoneNumber(third, await nextCode(third));
  await again.fetch();
  report.change = { phone: again.getMobilePhoneNumber(), verified: again.get('mobilePhoneVerified') };

  // Sign up, become, is authenticated, save, refresh the token, update the password.
  const signed = await AV.User.signUp(username, 'pw1', { nickname: 'Al' });
  const token = signed.getSessionToken();
  const became = await AV.User.become(token);
  report.signUp = {
    id: signed.id, became: became.id, nickname: became.get('nickname'),
    authenticated: await became.isAuthenticated(), createdAtIsDate: became.createdAt instanceof Date,
  };
  became.set('nickname', 'Ally');
  await became.save();
  await became.refreshSessionToken();
  const refreshed = became.getSessionToken();
  report.refresh = {
    changed: refreshed !== token,
    oldToken: await errorOf(AV.User.become(token)),
    newTokenUser: (await AV.User.become(refreshed)).id,
  };
  await became.updatePassword('pw1', 'pw2');
  const fresh = await AV.User.logIn(username, 'pw2');
  report.updatePassword = {
    loginWithNew: fresh.id, nickname: fresh.get('nickname'),
    loginWithOld: await errorOf(AV.User.logIn(username, 'pw1')),
    refreshedTokenAfter: await errorOf(AV.User.become(refreshed)),
  };
  process.stdout.write(JSON.stringify(report));
}

main().catch((error) => {
  process.stderr.write(`${error.code || ''} ${error.stack || error}\n`);
  process.exit(1);
});
