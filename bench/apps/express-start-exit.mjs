// The ESM twin of express-start-exit.cjs (used by the --import variants).
import express from 'express';

const app = express();
app.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
const server = app.listen(0, '127.0.0.1', () => server.close());
