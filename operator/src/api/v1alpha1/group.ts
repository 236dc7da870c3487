// Identity of the ViewportRelay API. Other engineers (chart, Argo CD health
// script, e2e) depend on these exact strings.

/** API_GROUP is the CRD group of every resource this operator owns. */
export const API_GROUP = 'relay.getviewport.com';
/** API_VERSION is the only served and stored version. */
export const API_VERSION = 'v1alpha1';
/** RELAY_API_VERSION is the `apiVersion` a ViewportRelay carries. */
export const RELAY_API_VERSION = `${API_GROUP}/${API_VERSION}`;
/** RELAY_KIND, RELAY_PLURAL, RELAY_SINGULAR name the CRD. */
export const RELAY_KIND = 'ViewportRelay';
export const RELAY_PLURAL = 'viewportrelays';
export const RELAY_SINGULAR = 'viewportrelay';
/** RELAY_SHORT_NAMES and RELAY_CATEGORIES feed `kubectl get vrelay` / `kubectl get viewport`. */
export const RELAY_SHORT_NAMES = ['vrelay'];
export const RELAY_CATEGORIES = ['viewport'];
/** PAUSED_ANNOTATION set to "true" freezes reconciliation of one relay. */
export const PAUSED_ANNOTATION = `${API_GROUP}/paused`;
/** FIELD_MANAGER is the server-side-apply manager for every child and for status. */
export const FIELD_MANAGER = 'viewport-relay-operator';
