# jointscore with onnxruntime-node's CUDA execution provider.
# Built where the internet is reachable: the CUDA provider binaries are downloaded at build
# time (CI cannot, and skips them with ONNXRUNTIME_NODE_INSTALL=skip). The install steps are
# those of .ci/run: Debian fonts for the overlay's text, `npm ci`, plus the CUDA provider.
# The DICOM node (`serve`, its ports, volumes and /healthz HEALTHCHECK) lands with issue 5;
# until then the image runs the offline commands (analyze, eval, phantom).

FROM node:20.20.2-bookworm-slim AS node

# CUDA 12 with cuDNN 9: what onnxruntime-node 1.30's CUDA provider is built against.
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx

# fonts + fontconfig: sharp draws SVG text with them, and draws nothing without a font
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core fontconfig \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/jointscore
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY models/jointscore-detector ./models/jointscore-detector
COPY models/jointscore-grader ./models/jointscore-grader

# npm ci builds dist/ (prepare); package.json denies onnxruntime-node's download script,
# so the CUDA provider is fetched explicitly here, then the dev tools are dropped.
RUN npm ci \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && npm prune --omit=dev \
 && npm cache clean --force

RUN useradd --system --uid 10001 --home-dir /var/lib/jointscore --create-home jointscore
USER 10001
WORKDIR /var/lib/jointscore

ENTRYPOINT ["node", "/opt/jointscore/bin/jointscore.js"]
CMD ["--help"]
