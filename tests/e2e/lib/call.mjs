// The common start of a call test: host and patient join through their links, the host
// admits the patient, and both are seen to decode each other's video and receive audio.
// patientBrowser: the patient's own browser (another kind, or in its own namespace); by default
// the host's.
export async function hostAndPatientInCall(browser, c, patientBrowser = browser) {
  const host = await browser.person('host');
  const patient = await patientBrowser.person('patient');
  await host.goto(c.links.host);
  await host.click('Join consultation');
  // The host is in the call (their own `joined` came) before the patient arrives: a failure
  // here names the host's step, with the host's page and console.
  await host.waitForText('People who are waiting to join are listed under Waiting room', 30000);
  await patient.goto(c.links.patient);
  await patient.click('Join consultation');
  // In the waiting room first (and the page says what it shows instead if not).
  await patient.waitForText('Please wait, the clinician will let you in soon', 30000);
  await host.click('Admit Patient');
  await host.expectMedia();
  await patient.expectMedia();
  return { host, patient };
}
