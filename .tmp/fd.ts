import { openSync, readlinkSync, constants } from "node:fs";
const fd = openSync("/tmp", constants.O_RDONLY | constants.O_DIRECTORY);
console.log(fd, readlinkSync(`/proc/self/fd/${fd}`), constants.O_NOFOLLOW, constants.O_DIRECTORY);
const fd2 = openSync("/etc/hostname", "r");
console.log(fd2, readlinkSync(`/proc/self/fd/${fd2}`));
