-- revoke_grant. ARGV: 1 key prefix, 2 grant id, 3 ms to remember the revocation.
revoke_grant(ARGV[1], ARGV[2], tonumber(ARGV[3]))
return 1
