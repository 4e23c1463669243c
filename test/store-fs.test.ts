import { FsStore } from "../src/storage/index.ts";
import { tempDir } from "./helpers/fixtures.ts";
import { storeContract } from "./helpers/store-contract.ts";

storeContract("local directory", async () => new FsStore(tempDir("bootstream-store-")));
