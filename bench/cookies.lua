-- wrk: send the cookies of cookies.txt in turn (W1m: many sessions).
local cookies = {}
for line in io.lines(os.getenv("COOKIES")) do
    cookies[#cookies + 1] = line
end
local n = 0
request = function()
    n = n % #cookies + 1
    return wrk.format(nil, nil, {Cookie = cookies[n]})
end
