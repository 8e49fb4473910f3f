// Says status changes to screen readers through a polite live region (role="status").

export class Announcer {
  constructor(region) {
    this.region = region;
    this.said = "";
  }

  /** Announce `text` once; the same text again is not repeated. */
  say(text) {
    if (!text || text === this.said) return;
    this.said = text;
    this.region.textContent = text;
  }

  /** Forget the last announcement (another job was opened). */
  reset() {
    this.said = "";
  }
}
