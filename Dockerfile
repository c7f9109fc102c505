# jointscore: the DICOM node with onnxruntime-node's CUDA execution provider.
# Built where the internet is reachable: the CUDA provider binaries (and better-sqlite3's
# prebuilt binary, or its compiler) are fetched at build time. CI cannot build images; it
# lints this file and runs the same install steps as .ci/run: Debian fonts for the overlay's
# text, `npm ci`, plus here the CUDA provider.
#
#   docker run --gpus all -p 11112:11112 -p 8080:8080 \
#     -v jointscore-data:/var/lib/jointscore -v /etc/jointscore:/etc/jointscore:ro \
#     -e JOINTSCORE_CONFIG=/etc/jointscore/jointscore.yaml jointscore
#
# Without a configuration file the embedded defaults apply (conf/default.yaml): results go
# to /var/lib/jointscore/results until a destination is configured.

# ---- build: npm ci needs a compiler for better-sqlite3 where no prebuilt binary matches
FROM node:20.20.2-bookworm AS build
WORKDIR /opt/jointscore
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
# npm ci builds dist/ (prepare); package.json denies onnxruntime-node's download script,
# so the CUDA provider is fetched explicitly here, then the dev tools are dropped.
RUN npm ci \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && npm prune --omit=dev \
 && npm cache clean --force

# ---- runtime: CUDA 12 with cuDNN 9, what onnxruntime-node 1.30's CUDA provider is built against
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

COPY --from=build /usr/local/bin/node /usr/local/bin/node

# fonts + fontconfig: sharp draws SVG text with them, and draws nothing without a font
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core fontconfig \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/jointscore
COPY --from=build /opt/jointscore ./
COPY conf ./conf
COPY models/jointscore-detector ./models/jointscore-detector
COPY models/jointscore-grader ./models/jointscore-grader
COPY models/jointscore-partial ./models/jointscore-partial

RUN useradd --system --uid 10001 --home-dir /var/lib/jointscore --create-home jointscore \
 && mkdir -p /etc/jointscore
USER 10001
WORKDIR /var/lib/jointscore

# Inside the container, loopback is the container's own: /healthz and /metrics listen on all
# of its interfaces, and publishing port 8080 (or not) decides who can reach them.
# MALLOC_ARENA_MAX: onnxruntime and sharp allocate natively from several threads; fewer glibc
# arenas hold less freed memory resident between analyses. MALLOC_MMAP_THRESHOLD_: a fixed
# threshold keeps image-sized buffers (received PDUs, pixels, the overlay) in their own
# mappings, returned to the system when freed; glibc's default raises the threshold after each
# large free and then keeps such buffers in its heap (npm run bench: bench/analysis-memory.mjs).
ENV JOINTSCORE_DATA_DIR=/var/lib/jointscore \
    JOINTSCORE_HTTP_HOST=0.0.0.0 \
    JOINTSCORE_HTTP_PORT=8080 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072
VOLUME ["/var/lib/jointscore"]
EXPOSE 11112 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.JOINTSCORE_HTTP_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "/opt/jointscore/bin/jointscore.js"]
CMD ["serve"]
