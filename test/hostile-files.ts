import { crc32 } from 'node:zlib'
import sharp from 'sharp'

/** A script that, if it ever runs in a page of ours, calls the API and marks the page. */
export const PROBE_SCRIPT = "fetch('/api/app.info',{method:'POST',body:'{}'}).then(r=>r.json()).then(j=>{document.title='RAN:'+j.ok});document.title='RAN'"

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/**
 * A valid PNG that is also an HTML page: a tEXt chunk right after IHDR holds markup and a script, which
 * a browser sniffing or trusting a `.html` name would run.
 */
export async function polyglotPng(): Promise<Buffer> {
  const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#3a7' } }).png().toBuffer()
  const ihdrEnd = 8 + 4 + 4 + 13 + 4
  const html = Buffer.from(`Comment\0<html><body><script>${PROBE_SCRIPT}</script></body></html>`, 'latin1')
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk('tEXt', html), png.subarray(ihdrEnd)])
}

/** An SVG image that runs a script when opened as a document. */
export const SCRIPTED_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="red"/><script>${PROBE_SCRIPT}</script></svg>`
