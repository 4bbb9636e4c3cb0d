# Production image. Runs against an external PostgreSQL 15+ (DATABASE_URL as the schema owner,
# APP_DATABASE_URL as the runtime login); the embedded PostgreSQL is for development only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY migrations ./migrations
COPY sql ./sql
COPY tsconfig.json ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:3000/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node --import tsx forwards SIGTERM to the service (npx tsx does not), so shutdown is graceful.
CMD ["node", "--import", "tsx", "src/server.ts"]
