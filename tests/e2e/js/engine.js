// A LeanEngine app (npm leanengine, unchanged) whose onVerified('sms') hook appends what it got
// to the file named by HOOK_RECORD. Keys come from LEANCLOUD_APP_ID/KEY/MASTER_KEY/HOOK_KEY,
// the port from LEANCLOUD_APP_PORT, as on LeanCloud.
const fs = require('fs');
const AV = require('leanengine');

AV.Cloud.onVerified('sms', (request) => {
  const user = request.object;
  fs.appendFileSync(process.env.HOOK_RECORD, JSON.stringify({
    objectId: user.id,
    attributes: user.toJSON(),
    createdAtIsDate: user.createdAt instanceof Date,
  }) + '\n');
});

AV.Cloud.start();
