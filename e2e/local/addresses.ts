// Loopback addresses for pods and Service stand-ins. Linux routes all of
// 127.0.0.0/8 to lo, so each pod gets an address of its own and listens on its
// real container port there. Each runner draws a random /24 so two runs on one
// machine do not collide.
import { randomInt } from 'node:crypto';

/** AddressPool hands out loopback addresses from one /24 and takes them back. */
export class AddressPool {
  private readonly prefix: string;
  private readonly free: number[] = [];
  private next = 2;

  /** The prefix defaults to a random 127.x.y (x in 64..191, away from 127.0.0.x conventions). */
  constructor(prefix = `127.${String(randomInt(64, 192))}.${String(randomInt(1, 255))}`) {
    this.prefix = prefix;
  }

  /** allocate returns an unused address; throws when the /24 is exhausted (a leak, not a user error). */
  allocate(): string {
    const host = this.next <= 254 ? this.next++ : this.free.shift();
    if (host === undefined) throw new Error(`address pool ${this.prefix}.0/24 exhausted`);
    return `${this.prefix}.${String(host)}`;
  }

  /** release returns an address; it is reused only after every fresh one, so a late packet cannot reach a new pod. */
  release(address: string): void {
    const host = Number(address.split('.').pop());
    if (address.startsWith(`${this.prefix}.`) && Number.isInteger(host)) this.free.push(host);
  }
}
