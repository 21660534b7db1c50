// The common start of a call test: host and patient join through their links, the host
// admits the patient, and both are seen to decode each other's video and receive audio.
export async function hostAndPatientInCall(browser, c) {
  const host = await browser.person('host');
  const patient = await browser.person('patient');
  await host.goto(c.links.host);
  await host.click('Join consultation');
  await patient.goto(c.links.patient);
  await patient.click('Join consultation');
  await host.click('Admit Patient');
  await host.expectMedia();
  await patient.expectMedia();
  return { host, patient };
}
