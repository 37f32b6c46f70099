// Loaded into every node.exe of the Windows lane (NODE_OPTIONS=--import): works around Wine 8
// limits that real Windows does not have, so the lane tests the product, not Wine.
//
// - setsockopt(SO_KEEPALIVE) with a keep-alive time on a socket whose connect is still pending
//   fails under Wine 8 ("connect UNKNOWN", errno -4094); Node's fetch (undici) does exactly that
//   for every connection, so every fetch() failed. Real Windows accepts it. Deferred here to the
//   'connect' event, which is what the option means anyway.
import net from 'node:net';

const setKeepAlive = net.Socket.prototype.setKeepAlive;
net.Socket.prototype.setKeepAlive = function (enable, delay) {
  if (this.connecting) {
    this.once('connect', () => setKeepAlive.call(this, enable, delay));
    return this;
  }
  return setKeepAlive.call(this, enable, delay);
};
