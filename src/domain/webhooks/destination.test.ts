import assert from 'node:assert/strict'
import { test } from 'node:test'
import { literalDestination, refusedAddress } from './destination.js'

test('internal, reserved and non-unicast addresses are refused, each with its reason', () => {
  const refused: Record<string, string> = {
    '127.0.0.1': 'loopback',
    '127.255.255.254': 'loopback',
    '0.0.0.0': 'unspecified',
    '0.1.2.3': 'unspecified',
    '10.0.0.5': 'private',
    '172.16.0.1': 'private',
    '172.31.255.255': 'private',
    '192.168.1.1': 'private',
    '169.254.169.254': 'link_local',
    '100.64.0.1': 'cgnat',
    '100.127.255.255': 'cgnat',
    '192.0.0.8': 'reserved',
    '192.0.2.1': 'documentation',
    '198.51.100.7': 'documentation',
    '203.0.113.9': 'documentation',
    '198.18.0.1': 'benchmarking',
    '224.0.0.1': 'multicast',
    '239.255.255.250': 'multicast',
    '240.0.0.1': 'reserved',
    '255.255.255.255': 'reserved',
    '::1': 'loopback',
    '::': 'unspecified',
    'fc00::1': 'unique_local',
    'fdff:ffff::1': 'unique_local',
    'fe80::1': 'link_local',
    'fe80::1%eth0': 'link_local',
    'febf::1': 'link_local',
    'fec0::1': 'site_local',
    'ff02::1': 'multicast',
    '2001:db8::1': 'documentation',
    '2001::1': 'reserved',
    '100::1': 'reserved',
    // IPv4 inside IPv6: mapped (both spellings), compatible, NAT64, 6to4.
    '::ffff:127.0.0.1': 'loopback',
    '::ffff:7f00:1': 'loopback',
    '::ffff:10.0.0.1': 'private',
    '::ffff:a9fe:a9fe': 'link_local',
    '::7f00:1': 'loopback',
    '::127.0.0.1': 'loopback',
    '::8.8.8.8': 'reserved',
    '64:ff9b::10.0.0.1': 'private',
    '64:ff9b:1::1': 'private',
    '2002:c0a8:101::1': 'private',
  }
  for (const [ip, reason] of Object.entries(refused)) assert.equal(refusedAddress(ip), reason, ip)
  for (const ip of [
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '172.32.0.1',
    '100.128.0.1',
    '169.255.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:808:808::1',
  ]) {
    assert.equal(refusedAddress(ip), null, ip)
  }
  assert.equal(refusedAddress('example.com'), 'not_an_ip')
})

test('a URL naming an internal address literally is refused in every numeric spelling', () => {
  for (const host of [
    '127.0.0.1',
    '127.1',
    '2130706433',
    '0x7f.1',
    '0x7f000001',
    '0177.0.0.1',
    '%31%32%37.0.0.1',
    '[::1]',
    '[0:0:0:0:0:0:0:1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '0.0.0.0',
    '0',
    '[::]',
    'localhost',
    'localhost.',
    'LOCALHOST',
    'api.localhost',
    '10.1.2.3',
    '169.254.169.254',
    '[fe80::1]',
  ]) {
    assert.equal(literalDestination(`http://${host}:8080/hook`), 'refused', host)
  }
  assert.equal(literalDestination('https://8.8.8.8/hook'), 'allowed')
  assert.equal(literalDestination('https://[2606:4700::1111]/hook'), 'allowed')
  assert.equal(literalDestination('https://hooks.example.com/hook'), 'name')
  assert.equal(literalDestination('https://localhost.example.com/hook'), 'name')
  assert.equal(literalDestination('not a url'), 'refused')
})
