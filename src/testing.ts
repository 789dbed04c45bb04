/** `cgihost/testing`: call a CGI in a test without starting a host (filled in by the hot-reload issue). */
export {};
