// The profiles as the relay's frame checks see them. The wire names, the check
// and the strength order (a PSK-bound handshake is stronger than plain IK) are
// the E2EE library's (e2ee/profiles.ts), so they are written down once.
export { PROFILES, isProfile, satisfiesProfile as isStrongerOrEqualProfile } from '../e2ee/profiles.js';
