# Production image. Runs against an external PostgreSQL 15+ (DATABASE_URL as the schema owner,
# APP_DATABASE_URL as the runtime login); the embedded PostgreSQL is for development only.
# The service runs compiled (npm run build): plain JavaScript, no TypeScript loader in memory.
# The web console is built to static files (npm run build:web) and served by the service at /.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
COPY web ./web
RUN npm run build && npm run build:web

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY migrations ./migrations
COPY sql ./sql
# Data files read at start-up (the common-password list).
COPY src/modules/auth/data ./src/modules/auth/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:3000/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node runs as PID 1 and handles SIGTERM itself (close-with-grace): shutdown is graceful.
CMD ["node", "dist/src/server.js"]
